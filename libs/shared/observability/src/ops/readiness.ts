/** At most this many named readiness checks per process; more is a design smell, not a need. */
export const readinessCheckCountMax = 32;
/** A check's detail is cut to this many characters, so /readyz stays small whatever is reported. */
export const readinessDetailLengthMax = 200;

export interface ReadinessCheckState {
  readonly ready: boolean;
  readonly detail: string;
  /** When the check last changed state (Unix ms). */
  readonly sinceMs: number;
}

export interface ReadinessSnapshot {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, ReadinessCheckState>>;
}

const checkNamePattern = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * The readiness of a process as a fixed set of named checks (`mysql`, `routing_table`, ...). The
 * owner refreshes each check in the background (a pool's ping loop, the routing follower) and
 * calls `set`; /readyz only reads this memory, so a readiness probe never waits on I/O. Every
 * check starts not ready: a process is ready only once each check has said so.
 */
export class ReadinessState {
  private readonly checks = new Map<string, ReadinessCheckState>();

  constructor(
    checkNames: readonly string[],
    private readonly nowMs: () => number = Date.now,
  ) {
    if (checkNames.length > readinessCheckCountMax) {
      throw new Error(
        `at most ${readinessCheckCountMax} readiness checks, got ${checkNames.length}`,
      );
    }
    for (const name of checkNames) {
      if (!checkNamePattern.test(name)) throw new Error(`invalid readiness check name: ${name}`);
      if (this.checks.has(name)) throw new Error(`duplicate readiness check name: ${name}`);
      this.checks.set(name, { ready: false, detail: 'not checked yet', sinceMs: this.nowMs() });
    }
  }

  /** Records the latest result of a check. Naming a check that was not declared is a bug. */
  set(name: string, ready: boolean, detail = ''): void {
    const previous = this.checks.get(name);
    if (previous === undefined) throw new Error(`unknown readiness check: ${name}`);
    const trimmed = detail.slice(0, readinessDetailLengthMax);
    if (previous.ready === ready && previous.detail === trimmed) return;
    const sinceMs = previous.ready === ready ? previous.sinceMs : this.nowMs();
    this.checks.set(name, { ready, detail: trimmed, sinceMs });
  }

  isReady(): boolean {
    for (const check of this.checks.values()) if (!check.ready) return false;
    return true;
  }

  snapshot(): ReadinessSnapshot {
    return { ready: this.isReady(), checks: Object.fromEntries(this.checks) };
  }
}
