import { FailoverErrorCode, FailoverException } from './failover.exception';

/** One step of a failover as it happened: what, when, how long, and how it ended. */
export interface TimelineStep {
  readonly step: string;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly durationMs: number;
  readonly outcome: 'done' | 'failed';
  readonly detail?: string;
}

/**
 * Runs the steps of one operation in order, each under its own time limit, and records them. A
 * step that overruns its limit fails the operation; the work it started is left to the caller's
 * rollback, which is why every step is written to be safe to abandon.
 */
export class OperationTimeline {
  private readonly recorded: TimelineStep[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  get steps(): readonly TimelineStep[] {
    return this.recorded;
  }

  /** `describe` turns a step's result into its detail (the facts worth a line in the report). */
  async run<T>(
    step: string,
    limitMs: number,
    work: () => Promise<T>,
    describe?: (result: T) => string,
  ): Promise<T> {
    const startedAt = this.now();
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new FailoverException(
              FailoverErrorCode.stepTimedOut,
              `step '${step}' did not finish within ${limitMs} ms`,
              { step, limitMs },
            ),
          ),
        limitMs,
      );
    });
    try {
      const result = await Promise.race([work(), overrun]);
      this.record(step, startedAt, 'done', describe?.(result));
      return result;
    } catch (error) {
      this.record(
        step,
        startedAt,
        'failed',
        error instanceof Error ? error.message : String(error),
      );
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private record(step: string, startedAt: Date, outcome: 'done' | 'failed', detail?: string): void {
    const endedAt = this.now();
    this.recorded.push({
      step,
      startedAt,
      endedAt,
      durationMs: endedAt.getTime() - startedAt.getTime(),
      outcome,
      ...(detail === undefined ? {} : { detail }),
    });
  }
}

/** Polls `probe` every `intervalMs` until it returns true; false once `limitMs` has passed. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  limitMs: number,
  intervalMs: number,
): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() + intervalMs > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
