import { formatGtidPosition } from './gtid-position';
import type { SemiSyncFacts, ShardNode } from './shard-node';

export interface PrimaryMonitorLimits {
  readonly probeIntervalMs: number;
  /** Upper bound on one probe; a probe that takes longer counts as a failure. */
  readonly probeTimeoutMs: number;
  /** Consecutive failed probes that declare the primary dead. */
  readonly failuresToDeclareDead: number;
}

export const primaryMonitorLimitsDefault: PrimaryMonitorLimits = {
  probeIntervalMs: 250,
  probeTimeoutMs: 500,
  failuresToDeclareDead: 3,
};

/** What the monitor saw of the primary while it was alive. */
export interface PrimaryObservation {
  readonly at: Date;
  readonly semiSync: Omit<SemiSyncFacts, 'sourceEnabled'>;
  readonly gtidBinlogPosition: string;
}

export interface PrimaryDeath {
  /** The last probe that succeeded: writes may have stopped any time after it. */
  readonly lastAliveAt: Date | null;
  readonly firstFailureAt: Date;
  readonly declaredDeadAt: Date;
  readonly failedProbes: number;
  /** The first and the last healthy observation: the semi-sync history before the death. */
  readonly firstObservation: PrimaryObservation | null;
  readonly lastObservation: PrimaryObservation | null;
}

/**
 * Probes a primary at a fixed pace and records its semi-sync status and binlog position while it
 * lives, so that once it is declared dead the control plane knows whether every commit it
 * acknowledged had also reached the replica. Detection takes at most
 * `failuresToDeclareDead * (probeIntervalMs + probeTimeoutMs)` after the death.
 */
export class PrimaryMonitor {
  private first: PrimaryObservation | null = null;
  private last: PrimaryObservation | null = null;
  private lastAliveAt: Date | null = null;
  private stopped = false;

  constructor(
    private readonly primary: ShardNode,
    private readonly limits: PrimaryMonitorLimits = primaryMonitorLimitsDefault,
  ) {}

  get lastObservation(): PrimaryObservation | null {
    return this.last;
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Resolves once the primary has failed `failuresToDeclareDead` probes in a row, or with null if
   * `stop()` was called or `watchMsMax` passed without a death.
   */
  async watch(watchMsMax: number): Promise<PrimaryDeath | null> {
    const deadline = Date.now() + watchMsMax;
    let failures = 0;
    let firstFailureAt: Date | null = null;
    while (!this.stopped && Date.now() < deadline) {
      const observation = await this.probe();
      if (observation === null) {
        failures += 1;
        firstFailureAt ??= new Date();
        if (failures >= this.limits.failuresToDeclareDead) {
          return {
            lastAliveAt: this.lastAliveAt,
            firstFailureAt,
            declaredDeadAt: new Date(),
            failedProbes: failures,
            firstObservation: this.first,
            lastObservation: this.last,
          };
        }
      } else {
        failures = 0;
        firstFailureAt = null;
        this.lastAliveAt = observation.at;
        this.first ??= observation;
        this.last = observation;
      }
      await new Promise((resolve) => setTimeout(resolve, this.limits.probeIntervalMs));
    }
    return null;
  }

  private async probe(): Promise<PrimaryObservation | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.limits.probeTimeoutMs);
    });
    const observe = async (): Promise<PrimaryObservation> => ({
      semiSync: await this.primary.semiSyncStatus(),
      gtidBinlogPosition: formatGtidPosition(await this.primary.binlogPosition()),
      at: new Date(),
    });
    try {
      return await Promise.race([observe(), timeout]);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
