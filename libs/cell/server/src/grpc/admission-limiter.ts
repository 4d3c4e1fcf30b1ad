/**
 * The bounds of one admission class (writes or reads): how many calls run at once, how many may
 * wait for a turn, how long one may wait, and how much of its deadline a call must still have when
 * its turn comes.
 */
export interface AdmissionLimits {
  /** Calls running at once; the next ones wait in the queue. */
  readonly inFlightMax: number;
  /** Calls waiting for a turn; one more is refused at once (`queue_full`). */
  readonly queueLengthMax: number;
  /** Longest wait for a turn; a call still waiting after it is refused (`queue_wait`). */
  readonly queueWaitMsMax: number;
  /**
   * A call whose deadline is nearer than this when it would start is refused (`deadline`): it
   * could not finish in time, and running it would only take the turn of one that can.
   */
  readonly deadlineRemainingMsMin: number;
}

/** Why a call was not admitted (the `cause` of a `cell_overloaded` refusal). */
export type AdmissionRefusalCause = 'queue_full' | 'queue_wait' | 'deadline' | 'cancelled';

export const admissionRefusalCauses: readonly AdmissionRefusalCause[] = [
  'queue_full',
  'queue_wait',
  'deadline',
  'cancelled',
];

/** Raised instead of running a call the limiter did not admit; nothing of the call has run. */
export class AdmissionRefusedError extends Error {
  constructor(readonly refusalCause: AdmissionRefusalCause) {
    super(`the cell is overloaded (${refusalCause}); retry shortly`);
    this.name = 'AdmissionRefusedError';
  }
}

/** A turn to run one call; releasing it more than once has no further effect. */
export interface AdmissionPermit {
  release(): void;
}

/** What the limiter reports after each change, for the in-flight and queue-depth gauges. */
export interface AdmissionObserver {
  changed(inFlight: number, queueDepth: number): void;
  /** A refusal, by its cause; the interceptor reports `stress_traffic_rejected` here as well. */
  refused(cause: AdmissionRefusalCause | 'stress_traffic_rejected'): void;
}

interface Waiter {
  readonly deadlineMs: number;
  readonly resolve: (permit: AdmissionPermit) => void;
  readonly reject: (error: AdmissionRefusedError) => void;
  timer: NodeJS.Timeout | undefined;
  detach: () => void;
}

export const silentAdmissionObserver: AdmissionObserver = {
  changed: () => undefined,
  refused: () => undefined,
};

/**
 * A bounded number of calls in progress and a bounded, short, first-in-first-out wait queue. A
 * cell that accepts every call queues without bound at overload: every call then waits until its
 * deadline and the cell serves almost nothing. With this bound it serves its capacity and refuses
 * the rest at once, before any of their work has started.
 */
export class AdmissionLimiter {
  private inFlight = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly limits: AdmissionLimits,
    private readonly observer: AdmissionObserver = silentAdmissionObserver,
    private readonly nowMs: () => number = Date.now,
  ) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 0) {
        throw new Error(`admission limit ${name} must be a non-negative integer, got ${value}`);
      }
    }
    if (limits.inFlightMax < 1) throw new Error('admission limit inFlightMax must be at least 1');
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /**
   * A turn at once when one is free and nobody waits (no allocation beyond the permit); undefined
   * otherwise, and the caller goes through `acquire`.
   */
  tryAcquire(deadlineMs: number): AdmissionPermit | undefined {
    if (this.inFlight >= this.limits.inFlightMax || this.queue.length > 0) return undefined;
    if (!this.deadlineReachable(deadlineMs)) return undefined;
    return this.grant();
  }

  /**
   * Waits for a turn, in arrival order, or refuses: at once when the queue is full or the deadline
   * is already too near, later when the wait grows too long, the deadline comes too near, or the
   * caller gives up (`signal`).
   */
  acquire(deadlineMs: number, signal?: AbortSignal): Promise<AdmissionPermit> {
    if (signal?.aborted === true) return this.refuse('cancelled');
    if (!this.deadlineReachable(deadlineMs)) return this.refuse('deadline');
    if (this.inFlight < this.limits.inFlightMax && this.queue.length === 0) {
      return Promise.resolve(this.grant());
    }
    if (this.queue.length >= this.limits.queueLengthMax) return this.refuse('queue_full');
    return new Promise<AdmissionPermit>((resolve, reject) => {
      const waiter: Waiter = {
        deadlineMs,
        resolve,
        reject,
        timer: undefined,
        detach: () => undefined,
      };
      const giveUp = (cause: AdmissionRefusalCause): void => {
        if (!this.remove(waiter)) return;
        this.observer.refused(cause);
        this.observer.changed(this.inFlight, this.queue.length);
        reject(new AdmissionRefusedError(cause));
      };
      // The wait ends at the queue bound, or earlier when the deadline would come too near.
      const untilDeadlineMs = deadlineMs - this.limits.deadlineRemainingMsMin - this.nowMs();
      const waitMs = Math.max(0, Math.min(this.limits.queueWaitMsMax, untilDeadlineMs));
      waiter.timer = setTimeout(
        () => giveUp(untilDeadlineMs < this.limits.queueWaitMsMax ? 'deadline' : 'queue_wait'),
        waitMs,
      );
      if (signal !== undefined) {
        const onAbort = (): void => giveUp('cancelled');
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(waiter);
      this.observer.changed(this.inFlight, this.queue.length);
    });
  }

  private deadlineReachable(deadlineMs: number): boolean {
    return deadlineMs - this.nowMs() >= this.limits.deadlineRemainingMsMin;
  }

  private grant(): AdmissionPermit {
    this.inFlight += 1;
    this.observer.changed(this.inFlight, this.queue.length);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.inFlight -= 1;
        this.dispatch();
        this.observer.changed(this.inFlight, this.queue.length);
      },
    };
  }

  /** Hands free turns to the waiters in arrival order, refusing those out of time. */
  private dispatch(): void {
    while (this.inFlight < this.limits.inFlightMax) {
      const waiter = this.queue.shift();
      if (waiter === undefined) return;
      clearTimeout(waiter.timer);
      waiter.detach();
      if (!this.deadlineReachable(waiter.deadlineMs)) {
        this.observer.refused('deadline');
        waiter.reject(new AdmissionRefusedError('deadline'));
        continue;
      }
      waiter.resolve(this.grant());
    }
  }

  private remove(waiter: Waiter): boolean {
    const index = this.queue.indexOf(waiter);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    clearTimeout(waiter.timer);
    waiter.detach();
    return true;
  }

  private refuse(cause: AdmissionRefusalCause): Promise<never> {
    this.observer.refused(cause);
    return Promise.reject(new AdmissionRefusedError(cause));
  }
}
