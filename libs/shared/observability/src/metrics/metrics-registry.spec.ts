import { createCellpayMetrics, createMetricsRegistry, registerMetric } from './metrics-registry';
import { metricDefinitions } from './metric-definitions';

describe('createCellpayMetrics', () => {
  it('exposes every catalog metric with its type next to the default process metrics', async () => {
    const registry = createMetricsRegistry();
    const metrics = createCellpayMetrics(registry);
    metrics.outboxDepth.set({ cell: 'cell-1' }, 7);
    metrics.routingEpoch.set(42);
    metrics.settlementLagSeconds.observe(
      { source_cell: 'cell-1', destination_cell: 'cell-2' },
      0.3,
    );

    const text = await registry.metrics();

    for (const definition of Object.values(metricDefinitions)) {
      expect(text).toContain(`# TYPE ${definition.name} ${definition.type}\n`);
    }
    expect(text).toContain('cellpay_outbox_depth{cell="cell-1"} 7\n');
    expect(text).toContain('cellpay_routing_epoch 42\n');
    expect(text).toContain(
      'cellpay_settlement_lag_seconds_bucket{le="0.5",source_cell="cell-1",destination_cell="cell-2"} 1\n',
    );
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('returns the same metric when asked twice, so modules of one process can share it', () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const first = createCellpayMetrics(registry);
    const second = createCellpayMetrics(registry);
    first.rateLimitedTotal.inc({ merchant: 'm-1' });

    expect(second.rateLimitedTotal).toBe(first.rateLimitedTotal);
  });

  it('keeps registries apart', async () => {
    const one = createMetricsRegistry({ defaultMetrics: false });
    const other = createMetricsRegistry({ defaultMetrics: false });
    createCellpayMetrics(one).routingEpoch.set(5);
    createCellpayMetrics(other);

    expect(await other.metrics()).toContain('cellpay_routing_epoch 0\n');
  });

  it('refuses a name already taken by a metric of another type', () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    registerMetric(registry, metricDefinitions.outboxDepth);

    expect(() =>
      registerMetric(registry, {
        type: 'counter',
        name: metricDefinitions.outboxDepth.name,
        help: 'clash',
        labelNames: ['cell'],
      }),
    ).toThrow('cellpay_outbox_depth is already registered with another type');
  });
});
