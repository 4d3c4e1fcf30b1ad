import type { TimelineStep } from '@cellpay/failover';

/** One step of a control-plane operation as an operator sees it (the engine's own step shape). */
export type OperationStep = TimelineStep;

/** Upper bound on recorded steps: an operation that loops must not grow its report forever. */
export const operationStepsMax = 200;

/**
 * Records the steps of a cell operation (freeze, the shard engine's steps, topology, unfreeze) in
 * order and reports each one as a progress line the moment it ends.
 */
export class CellOperationTimeline {
  private readonly recorded: OperationStep[] = [];

  constructor(private readonly progress: (line: string) => void) {}

  get steps(): readonly OperationStep[] {
    return this.recorded;
  }

  async run<T>(step: string, work: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
    const startedAt = new Date();
    try {
      const result = await work();
      this.record({ step, startedAt, outcome: 'done', detail: describe?.(result) });
      return result;
    } catch (error) {
      this.record({
        step,
        startedAt,
        outcome: 'failed',
        detail: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  /** Adds steps that another component timed itself (the shard engine's timeline). */
  append(steps: readonly Omit<OperationStep, 'detail'>[], prefix: string): void {
    for (const step of steps) this.push({ ...step, step: `${prefix}${step.step}` });
  }

  private record(step: {
    step: string;
    startedAt: Date;
    outcome: 'done' | 'failed';
    detail: string | undefined;
  }): void {
    const endedAt = new Date();
    this.push({
      step: step.step,
      startedAt: step.startedAt,
      endedAt,
      durationMs: endedAt.getTime() - step.startedAt.getTime(),
      outcome: step.outcome,
      ...(step.detail === undefined ? {} : { detail: step.detail }),
    });
  }

  private push(step: OperationStep): void {
    if (this.recorded.length >= operationStepsMax) return;
    this.recorded.push(step);
    this.progress(formatStep(step));
  }
}

export function formatStep(step: OperationStep): string {
  const detail = step.detail === undefined ? '' : `  ${step.detail}`;
  return `${step.endedAt.toISOString()}  ${step.step.padEnd(34)} ${String(step.durationMs).padStart(6)} ms  ${step.outcome}${detail}`;
}
