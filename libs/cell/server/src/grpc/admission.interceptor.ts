import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { Observable, type Subscription, throwError } from 'rxjs';

import { type CellpayMetrics, currentRequestContext } from '@cellpay/observability';
import { cellOverloadedReason } from '@cellpay/proto';

import {
  AdmissionLimiter,
  type AdmissionLimits,
  type AdmissionObserver,
  type AdmissionPermit,
  type AdmissionRefusalCause,
  silentAdmissionObserver,
} from './admission-limiter';

/** Reads are cheap and short; they get a bound of their own so writes cannot starve them. */
export type AdmissionClass = 'write' | 'read';

export interface AdmissionSettings {
  readonly writes: AdmissionLimits;
  readonly reads: AdmissionLimits;
}

/**
 * How the bounds follow the cell's shard pool. Every call holds a pool connection for its
 * transaction, so writes beyond the pool's size would only wait inside mysql2's pool, unbounded and
 * blind to deadlines, instead of in our queue; reads are short and get twice as many. The queue
 * takes a burst of about two pool's worth and no call waits longer than 250 ms for its turn: one
 * that cannot start by then is better refused at once, while its client can still retry within
 * its deadline (docs/benchmarks.md, "Admission control").
 */
export const admissionPoolFactors = {
  writesInFlight: 1,
  writesQueueLength: 2,
  readsInFlight: 2,
  readsQueueLength: 4,
} as const;

export const admissionQueueWaitMsMaxDefault = 250;

/** The admission bounds for a cell whose shard pool holds `connectionsMax` connections. */
export function admissionSettingsForPool(connectionsMax: number): AdmissionSettings {
  const queueWaitMsMax = admissionQueueWaitMsMaxDefault;
  return {
    writes: {
      inFlightMax: connectionsMax * admissionPoolFactors.writesInFlight,
      queueLengthMax: connectionsMax * admissionPoolFactors.writesQueueLength,
      queueWaitMsMax,
      deadlineRemainingMsMin: 50,
    },
    reads: {
      inFlightMax: connectionsMax * admissionPoolFactors.readsInFlight,
      queueLengthMax: connectionsMax * admissionPoolFactors.readsQueueLength,
      queueWaitMsMax,
      deadlineRemainingMsMin: 20,
    },
  };
}

/** The bounds of a cell with the default pool of 16 connections (the embedded platform, tests). */
export const admissionDefaults: AdmissionSettings = admissionSettingsForPool(16);

/** Whether the `stress_traffic_rejected` switch is on, read from memory on every call. */
export interface StressTrafficSwitch {
  stressTrafficRejected(): boolean;
}

/** The same reason the gateway gives when the switch refuses stress traffic. */
export const stressTrafficRejectedReason = 'stress_traffic_rejected';

/**
 * A call the cell did not let in: for overload (`cell_overloaded`, with its cause) or because the
 * switch refuses stress traffic. Raised before the handler runs, so nothing of it happened and
 * nothing is stored under its idempotency key.
 */
export class AdmissionRefusal extends Error {
  constructor(
    readonly reason: typeof cellOverloadedReason | typeof stressTrafficRejectedReason,
    readonly refusalCause: AdmissionRefusalCause | 'switch',
    /** A hint for the client's next attempt; none for the switch, which is not about load. */
    readonly retryAfterMs?: number,
  ) {
    super(
      reason === cellOverloadedReason
        ? `the cell is overloaded (${refusalCause}); retry shortly`
        : 'stress traffic is rejected (switch stress_traffic_rejected)',
    );
    this.name = 'AdmissionRefusal';
  }
}

/** Handlers that only read (`getBalance`, `getPayment`, ...) take the read bound. */
export function admissionClassOf(handlerName: string): AdmissionClass {
  return /^get[A-Z]/.test(handlerName) ? 'read' : 'write';
}

/** The call's deadline in epoch milliseconds (Infinity without one). */
export function deadlineMsOf(call: Pick<ServerUnaryCall<unknown, unknown>, 'getDeadline'>): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

type AdmissionMetrics = Pick<
  CellpayMetrics,
  'admissionInFlight' | 'admissionQueueDepth' | 'admissionRefusalsTotal'
>;

/** Keeps the admission gauges and the refusal counter of one class, label children bound once. */
function metricsObserver(
  metrics: AdmissionMetrics,
  cell: string,
  admissionClass: AdmissionClass,
): AdmissionObserver {
  const labels = { cell, class: admissionClass };
  const inFlight = metrics.admissionInFlight.labels(labels);
  const queueDepth = metrics.admissionQueueDepth.labels(labels);
  return {
    changed: (running, waiting) => {
      inFlight.set(running);
      queueDepth.set(waiting);
    },
    refused: (cause) => metrics.admissionRefusalsTotal.inc({ ...labels, cause }),
  };
}

export interface AdmissionInterceptorOptions {
  readonly settings: AdmissionSettings;
  readonly stressSwitch?: StressTrafficSwitch;
  readonly metrics?: { readonly registry: AdmissionMetrics; readonly cellId: string };
}

/**
 * The cell protects itself: calls switched off (stress traffic under `stress_traffic_rejected`)
 * are refused first, then every call takes a turn of its class's limiter before its handler runs,
 * and gives it back when the handler ends in any way (answer, refusal, throw, unsubscribe). Runs
 * after the request context interceptor (it reads the stress mark) and before any database work.
 */
@Injectable()
export class AdmissionInterceptor implements NestInterceptor {
  readonly limiters: Readonly<Record<AdmissionClass, AdmissionLimiter>>;
  private readonly observers: Readonly<Record<AdmissionClass, AdmissionObserver>>;
  private readonly stressSwitch: StressTrafficSwitch | undefined;

  constructor(options: AdmissionInterceptorOptions) {
    const { settings, metrics } = options;
    const observer = (admissionClass: AdmissionClass): AdmissionObserver =>
      metrics === undefined
        ? silentAdmissionObserver
        : metricsObserver(metrics.registry, metrics.cellId, admissionClass);
    this.observers = { write: observer('write'), read: observer('read') };
    this.limiters = {
      write: new AdmissionLimiter(settings.writes, this.observers.write),
      read: new AdmissionLimiter(settings.reads, this.observers.read),
    };
    this.stressSwitch = options.stressSwitch;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const admissionClass = admissionClassOf(context.getHandler().name);
    if (
      this.stressSwitch?.stressTrafficRejected() === true &&
      currentRequestContext()?.stress === true
    ) {
      this.observers[admissionClass].refused(stressTrafficRejectedReason);
      return throwError(() => new AdmissionRefusal(stressTrafficRejectedReason, 'switch'));
    }
    const limiter = this.limiters[admissionClass];
    const call = context.getArgByIndex<ServerUnaryCall<unknown, unknown> | undefined>(2);
    const deadlineMs = call === undefined ? Infinity : deadlineMsOf(call);
    // Created here, inside the call's request context: Nest binds the handler's async context
    // when `handle()` is called, so the handler keeps it even when it starts later, from the queue.
    const handled = next.handle();
    const retryAfterMs = limiter.limits.queueWaitMsMax;
    return new Observable<unknown>((subscriber) => {
      let permit: AdmissionPermit | undefined;
      let inner: Subscription | undefined;
      let closed = false;
      const run = (granted: AdmissionPermit): void => {
        if (closed) {
          granted.release();
          return;
        }
        permit = granted;
        inner = handled.subscribe(subscriber);
      };
      const immediate = limiter.tryAcquire(deadlineMs);
      const cancellation = immediate === undefined ? new AbortController() : undefined;
      if (immediate !== undefined) {
        run(immediate);
      } else {
        // A client that gave up (its deadline passed, or it cancelled) leaves the queue at once.
        call?.once('cancelled', () => cancellation?.abort());
        limiter.acquire(deadlineMs, cancellation?.signal).then(run, (error: unknown) => {
          const cause = (error as { refusalCause?: AdmissionRefusalCause }).refusalCause;
          subscriber.error(
            cause === undefined
              ? error
              : new AdmissionRefusal(cellOverloadedReason, cause, retryAfterMs),
          );
        });
      }
      // Runs once the handler answered, failed or was unsubscribed: the turn is always given back.
      return () => {
        closed = true;
        cancellation?.abort();
        inner?.unsubscribe();
        permit?.release();
      };
    });
  }
}
