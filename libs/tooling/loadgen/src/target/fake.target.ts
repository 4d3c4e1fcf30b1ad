import type { LoadOperation } from '../mix/operation-mix';
import { type RandomSource, seededRandom } from '../engine/seeded-random';
import {
  type LoadTarget,
  type LoadTargetObserver,
  type OperationOutcome,
  okStatus,
} from './load-target';

export interface FakeTargetOptions {
  /** Mean latency of an operation; each one takes latencyMs * (1 +- latencyJitterFraction). */
  readonly latencyMs: number;
  readonly latencyJitterFraction: number;
  /** Fraction (0..1) of operations that fail with `errorStatus`. */
  readonly errorRate: number;
  readonly errorStatus: string;
  /** Settlement lag reported for each successful cross-cell payment, with the same jitter. */
  readonly settlementLagMs: number;
  readonly seed: number;
}

export const defaultFakeTargetOptions: FakeTargetOptions = {
  latencyMs: 5,
  latencyJitterFraction: 0.5,
  errorRate: 0.001,
  errorStatus: 'UNAVAILABLE',
  settlementLagMs: 200,
  seed: 7,
};

/** Settlements the fake keeps waiting at once; beyond it a lag is reported at once (bounded). */
export const fakePendingSettlementsMax = 100_000;

/**
 * A target that sends nothing: each operation waits a configurable latency and fails at a
 * configurable rate. It makes the generator, the curve and the report runnable and testable
 * without a cluster, and shows what a real target must do (including reporting settlement lag).
 */
export class FakeTarget implements LoadTarget {
  readonly name = 'fake';
  private readonly random: RandomSource;
  private observer: LoadTargetObserver | undefined;
  private readonly pendingSettlements = new Map<NodeJS.Timeout, () => void>();

  constructor(private readonly options: FakeTargetOptions = defaultFakeTargetOptions) {
    if (!(options.latencyMs >= 0)) throw new Error('fake latency must be 0 or more');
    if (!(options.latencyJitterFraction >= 0 && options.latencyJitterFraction <= 1)) {
      throw new Error('fake latency jitter must lie within 0..1');
    }
    if (!(options.errorRate >= 0 && options.errorRate <= 1)) {
      throw new Error('fake error rate must lie within 0..1');
    }
    if (!(options.settlementLagMs >= 0)) throw new Error('fake settlement lag must be 0 or more');
    this.random = seededRandom(options.seed);
  }

  open(observer: LoadTargetObserver): Promise<void> {
    this.observer = observer;
    return Promise.resolve();
  }

  execute(operation: LoadOperation): Promise<OperationOutcome> {
    const failed = this.random() < this.options.errorRate;
    const latencyMs = this.jittered(this.options.latencyMs);
    return new Promise((resolve) => {
      setTimeout(() => {
        if (failed) {
          resolve({ status: this.options.errorStatus });
          return;
        }
        if (operation.kind === 'pay_cross_cell') this.settleLater();
        resolve({ status: okStatus });
      }, latencyMs);
    });
  }

  /** Its longest lag: the mean with full jitter. */
  get settlementTailWaitMsMax(): number {
    return this.options.settlementLagMs * (1 + this.options.latencyJitterFraction);
  }

  async settled(): Promise<void> {
    while (this.pendingSettlements.size > 0) {
      await new Promise<void>((resolve) => {
        const [first] = this.pendingSettlements.keys();
        if (first === undefined) return resolve();
        const report = this.pendingSettlements.get(first);
        this.pendingSettlements.set(first, () => {
          report?.();
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    for (const timer of this.pendingSettlements.keys()) clearTimeout(timer);
    this.pendingSettlements.clear();
    this.observer = undefined;
    return Promise.resolve();
  }

  private settleLater(): void {
    const lagMs = this.jittered(this.options.settlementLagMs);
    if (this.pendingSettlements.size >= fakePendingSettlementsMax) {
      this.observer?.settlementLag(lagMs / 1000);
      return;
    }
    const timer = setTimeout(() => {
      const settle = this.pendingSettlements.get(timer);
      this.pendingSettlements.delete(timer);
      settle?.();
    }, lagMs);
    this.pendingSettlements.set(timer, () => this.observer?.settlementLag(lagMs / 1000));
  }

  private jittered(meanMs: number): number {
    const jitter = (this.random() * 2 - 1) * this.options.latencyJitterFraction;
    return Math.max(0, meanMs * (1 + jitter));
  }
}
