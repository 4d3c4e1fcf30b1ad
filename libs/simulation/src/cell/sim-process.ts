/** Thrown where a simulated process dies: whatever it was doing stops, its memory is gone. */
export class ProcessCrashed extends Error {
  constructor(readonly processName: string) {
    super(`${processName} crashed`);
    this.name = 'ProcessCrashed';
  }
}

/** Where an armed crash strikes: inside a transaction (at its n-th storage call) or after a commit. */
export type CrashPoint =
  { readonly kind: 'storage-call'; readonly callsLeft: number } | { readonly kind: 'after-commit' };

/**
 * The liveness of one simulated process (a cell, a relay, a consumer). A crash ends the current
 * incarnation; whatever it had in memory is lost, while its database (the store) stays.
 */
export class SimProcess {
  private alive = false;
  private incarnationNumber = 0;
  private armed: CrashPoint | undefined;
  crashes = 0;

  constructor(readonly name: string) {}

  get up(): boolean {
    return this.alive;
  }

  get incarnation(): number {
    return this.incarnationNumber;
  }

  boot(): void {
    this.alive = true;
    this.incarnationNumber += 1;
    this.armed = undefined;
  }

  crash(): ProcessCrashed {
    this.alive = false;
    this.armed = undefined;
    this.crashes += 1;
    return new ProcessCrashed(this.name);
  }

  arm(point: CrashPoint): void {
    this.armed = point;
  }

  disarm(): void {
    this.armed = undefined;
  }

  get armedPoint(): CrashPoint | undefined {
    return this.armed;
  }

  /** Called before every storage call: throws when an armed storage-call crash comes due. */
  beforeStorageCall(): void {
    if (!this.alive) throw new ProcessCrashed(this.name);
    const armed = this.armed;
    if (armed?.kind !== 'storage-call') return;
    if (armed.callsLeft <= 1) throw this.crash();
    this.armed = { kind: 'storage-call', callsLeft: armed.callsLeft - 1 };
  }

  /** Called after every commit: throws (the reply is lost, the commit stays) when armed so. */
  afterCommit(): void {
    if (this.armed?.kind === 'after-commit') throw this.crash();
  }
}
