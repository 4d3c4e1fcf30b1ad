import type { Clock, IdGenerator } from './ports';
import { formatId, type IdKind } from './ids';

/** Reproducible IDs for tests and the simulator: a fixed tag plus a counter. */
export class SequenceIdGenerator implements IdGenerator {
  private counter = 0;

  constructor(private readonly tag = 'SEQ') {}

  next(kind: IdKind, slot: number): string {
    this.counter += 1;
    return formatId(kind, slot, `${this.tag}${this.counter.toString().padStart(12, '0')}`);
  }
}

/** A clock that only moves when told to; for tests and the simulator. */
export class ManualClock implements Clock {
  constructor(private current: Date = new Date(Date.UTC(2026, 0, 1))) {}

  now(): Date {
    return new Date(this.current.getTime());
  }

  advanceMs(milliseconds: number): void {
    this.current = new Date(this.current.getTime() + milliseconds);
  }
}
