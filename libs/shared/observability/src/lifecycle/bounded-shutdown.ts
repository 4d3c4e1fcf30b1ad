import type { Logger } from '../logger';

/** One step of a process's shutdown, with the longest it may take. */
export interface ShutdownStep {
  readonly name: string;
  readonly limitMs: number;
  run(): Promise<unknown>;
}

export interface ShutdownStepOutcome {
  readonly step: string;
  readonly outcome: 'done' | 'failed' | 'timed_out';
  readonly durationMs: number;
}

/**
 * Runs a process's shutdown steps in order, each under its own bound: a step whose dependency is
 * already gone (a MySQL server, Redis, a broker) fails or times out, is logged, and the next step
 * runs anyway. The whole shutdown therefore takes at most the sum of the bounds, and the caller
 * exits afterwards whatever handles a timed-out step left open.
 */
export async function runBoundedShutdown(
  steps: readonly ShutdownStep[],
  logger: Pick<Logger, 'warn'>,
): Promise<readonly ShutdownStepOutcome[]> {
  const outcomes: ShutdownStepOutcome[] = [];
  for (const step of steps) {
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<'timed_out'>((resolve) => {
      timer = setTimeout(() => resolve('timed_out'), step.limitMs);
    });
    let outcome: ShutdownStepOutcome['outcome'];
    try {
      outcome = await Promise.race([step.run().then(() => 'done' as const), overrun]);
    } catch (error) {
      outcome = 'failed';
      logger.warn({ err: error, step: step.name }, 'shutdown step failed; going on');
    } finally {
      clearTimeout(timer);
    }
    if (outcome === 'timed_out') {
      logger.warn({ step: step.name, limitMs: step.limitMs }, 'shutdown step overran its bound');
    }
    outcomes.push({ step: step.name, outcome, durationMs: Date.now() - startedAt });
  }
  return outcomes;
}

/** The longest a shutdown made of `steps` can take. */
export function shutdownMsMax(steps: readonly Pick<ShutdownStep, 'limitMs'>[]): number {
  return steps.reduce((total, step) => total + step.limitMs, 0);
}

/** How long a process may take to end on its own after its shutdown steps. */
export const shutdownExitGraceMs = 500;

/**
 * Ends the process `graceMs` from now unless it ends on its own first (the timer does not keep it
 * alive): sockets a timed-out step left open, such as a Redis client reconnecting to a server that
 * is gone, cannot keep it running. Output written before the call is flushed in the grace time.
 */
export function exitAfterShutdown(code: number, graceMs: number = shutdownExitGraceMs): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), graceMs).unref();
}
