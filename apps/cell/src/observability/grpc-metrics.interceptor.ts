import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import { type Observable, tap } from 'rxjs';

import { grpcStatusOfError } from '@cellpay/cell-server';
import { type CellpayMetrics, GrpcCallTimer } from '@cellpay/observability';

/**
 * Times every cell gRPC call into `cellpay_grpc_requests_total` and
 * `cellpay_grpc_request_duration_seconds`, with the status code the error filter will send. One
 * timer per handler, created on its first call (the handlers are a fixed set).
 */
export class GrpcMetricsInterceptor implements NestInterceptor {
  private readonly timers = new Map<unknown, GrpcCallTimer>();

  constructor(
    private readonly metrics: Pick<
      CellpayMetrics,
      'grpcRequestsTotal' | 'grpcRequestDurationSeconds'
    >,
    private readonly cellId: string,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = context.getHandler();
    let timer = this.timers.get(handler);
    if (timer === undefined) {
      timer = new GrpcCallTimer(this.metrics, {
        service: context.getClass().name.replace(/GrpcController$/, ''),
        method: handler.name,
        cell: this.cellId,
      });
      this.timers.set(handler, timer);
    }
    const startedAtMs = timer.start();
    const finished = timer;
    return next.handle().pipe(
      tap({
        complete: () => finished.finish(startedAtMs, status.OK),
        error: (error: unknown) => finished.finish(startedAtMs, grpcStatusOfError(error)),
      }),
    );
  }
}
