import { DbTransactionTimer } from './db-transaction.timer';
import { GrpcCallTimer } from './grpc-call.timer';
import { createCellpayMetrics, createMetricsRegistry } from './metrics-registry';

const labels = { service: 'cellpay.v1.Payments', method: 'Pay', cell: 'cell-1' };

function setUp() {
  const registry = createMetricsRegistry({ defaultMetrics: false });
  return { registry, metrics: createCellpayMetrics(registry) };
}

describe('GrpcCallTimer', () => {
  it('counts calls by status name and observes their duration', async () => {
    const { registry, metrics } = setUp();
    const timer = new GrpcCallTimer(metrics, labels);

    timer.finish(timer.start(), 0);
    timer.finish(timer.start(), 0);
    timer.finish(timer.start(), 9);

    const text = await registry.metrics();
    expect(text).toContain(
      'cellpay_grpc_requests_total{service="cellpay.v1.Payments",method="Pay",code="OK",cell="cell-1"} 2\n',
    );
    expect(text).toContain('code="FAILED_PRECONDITION",cell="cell-1"} 1\n');
    expect(text).toContain(
      'cellpay_grpc_request_duration_seconds_count{service="cellpay.v1.Payments",method="Pay",cell="cell-1"} 3\n',
    );
  });

  it('files a status code outside the gRPC set under UNKNOWN, never as a new label value', async () => {
    const { registry, metrics } = setUp();
    const timer = new GrpcCallTimer(metrics, labels);

    timer.finish(timer.start(), 99);
    timer.finish(timer.start(), -1);
    timer.finish(timer.start(), 1.5);

    const text = await registry.metrics();
    expect(text).toContain('code="UNKNOWN",cell="cell-1"} 3\n');
    expect(text).not.toContain('code="99"');
  });

  it('times a failing call with the status of its error and rethrows it', async () => {
    const { registry, metrics } = setUp();
    const timer = new GrpcCallTimer(metrics, labels);
    const failure = new Error('no funds');

    await expect(
      timer.time(
        () => Promise.reject(failure),
        () => 9,
      ),
    ).rejects.toBe(failure);
    await expect(
      timer.time(
        () => Promise.resolve('done'),
        () => 2,
      ),
    ).resolves.toBe('done');

    const text = await registry.metrics();
    expect(text).toContain('code="FAILED_PRECONDITION",cell="cell-1"} 1\n');
    expect(text).toContain('code="OK",cell="cell-1"} 1\n');
  });
});

describe('DbTransactionTimer', () => {
  it('observes committed and failed transactions, in seconds', async () => {
    const { registry, metrics } = setUp();
    const timer = new DbTransactionTimer(metrics, { cell: 'cell-2', operation: 'pay_same_cell' });

    await timer.time(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    await expect(timer.time(() => Promise.reject(new Error('deadlock')))).rejects.toThrow(
      'deadlock',
    );

    const text = await registry.metrics();
    const series = '{cell="cell-2",operation="pay_same_cell"}';
    expect(text).toContain(`cellpay_db_transaction_duration_seconds_count${series} 2\n`);
    const sumLine = text
      .split('\n')
      .find((line) => line.startsWith(`cellpay_db_transaction_duration_seconds_sum${series}`));
    const sum = Number(sumLine?.split(' ')[1]);
    // One 20 ms wait makes the sum at least 0.019 s and, in seconds, far below one second.
    expect(sum).toBeGreaterThanOrEqual(0.019);
    expect(sum).toBeLessThan(1);
  });
});
