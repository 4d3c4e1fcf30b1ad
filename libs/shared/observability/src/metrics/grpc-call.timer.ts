import type { Counter, Histogram, LabelValues } from 'prom-client';
import { performance } from 'node:perf_hooks';
import { type GrpcStatusName, grpcStatusNames } from './metric-definitions';
import type { CellpayMetrics } from './metrics-registry';

export interface GrpcCallLabels {
  readonly service: string;
  readonly method: string;
  readonly cell: string;
}

/**
 * Times the calls of one gRPC method. Create one per (service, method, cell) when the handler is
 * registered, not per call: the label children are resolved here once, so a call costs a clock
 * read and two prom-client updates, with no label lookup and no allocation.
 *
 *     const startedAtMs = timer.start();
 *     ... handle the call ...
 *     timer.finish(startedAtMs, status.code);
 */
export class GrpcCallTimer {
  private readonly duration: ReturnType<Histogram<'service' | 'method' | 'cell'>['labels']>;
  /** Counter children by numeric status code, created on first use (at most 17). */
  private readonly countByCode: (ReturnType<Counter<string>['labels']> | undefined)[] = [];

  constructor(
    private readonly metrics: Pick<
      CellpayMetrics,
      'grpcRequestsTotal' | 'grpcRequestDurationSeconds'
    >,
    private readonly labels: GrpcCallLabels,
  ) {
    this.duration = metrics.grpcRequestDurationSeconds.labels(labels);
  }

  /** A start mark, in milliseconds of the monotonic clock. */
  start(): number {
    return performance.now();
  }

  /** Records one finished call. An unknown numeric code counts as `UNKNOWN`. */
  finish(startedAtMs: number, statusCode: number): void {
    this.duration.observe((performance.now() - startedAtMs) / 1000);
    this.counterFor(statusCode).inc();
  }

  /** Convenience for code that is not hot: times `call`, mapping a thrown error to a status code. */
  async time<T>(call: () => Promise<T>, statusCodeOf: (error: unknown) => number): Promise<T> {
    const startedAtMs = this.start();
    try {
      const result = await call();
      this.finish(startedAtMs, 0);
      return result;
    } catch (error) {
      this.finish(startedAtMs, statusCodeOf(error));
      throw error;
    }
  }

  private counterFor(statusCode: number): ReturnType<Counter<string>['labels']> {
    const index = Number.isInteger(statusCode) && statusCode in grpcStatusNames ? statusCode : 2;
    const cached = this.countByCode[index];
    if (cached !== undefined) return cached;
    const code: GrpcStatusName = grpcStatusNames[index] ?? 'UNKNOWN';
    const { service, method, cell } = this.labels;
    const labels: LabelValues<'service' | 'method' | 'code' | 'cell'> = {
      service,
      method,
      code,
      cell,
    };
    const child = this.metrics.grpcRequestsTotal.labels(labels);
    this.countByCode[index] = child;
    return child;
  }
}
