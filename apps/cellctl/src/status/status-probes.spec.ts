import { parseBreakerStates } from './status-probes';

describe('reading breaker states from a gateway /metrics page', () => {
  it('maps 0, 1, 2 to closed, half-open, open per cell and ignores other series', () => {
    const text = [
      '# HELP cellpay_circuit_breaker_state Circuit breaker state towards a cell',
      '# TYPE cellpay_circuit_breaker_state gauge',
      'cellpay_circuit_breaker_state{cell="cell-1"} 0',
      'cellpay_circuit_breaker_state{service="gateway",cell="cell-2"} 2',
      'cellpay_circuit_breaker_state{cell="cell-3"} 1',
      'cellpay_grpc_requests_total{cell="cell-1",method="Pay"} 12',
      'cellpay_circuit_breaker_state{cell="cell-4"} 7',
    ].join('\n');
    expect([...parseBreakerStates(text)]).toEqual([
      ['cell-1', 'closed'],
      ['cell-2', 'open'],
      ['cell-3', 'half-open'],
      ['cell-4', 'state 7'],
    ]);
    expect(parseBreakerStates('').size).toBe(0);
  });
});
