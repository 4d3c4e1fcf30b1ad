import type { Clock } from '@cellpay/cell-domain';

import type { VirtualScheduler } from './virtual-scheduler';

/** Where virtual time starts on the wall clock the cells see. */
export const simulationEpochMs = Date.UTC(2026, 10, 1, 0, 0, 0);

/**
 * The wall clock the cells read: virtual time plus a skew that clock-jump faults move forwards
 * or backwards, the way NTP corrections and VM pauses move a real server's clock.
 */
export class VirtualWallClock implements Clock {
  private skewMs = 0;

  constructor(private readonly scheduler: VirtualScheduler) {}

  now(): Date {
    return new Date(simulationEpochMs + this.scheduler.nowMs + this.skewMs);
  }

  nowMs(): number {
    return simulationEpochMs + this.scheduler.nowMs + this.skewMs;
  }

  jump(deltaMs: number): void {
    this.skewMs += deltaMs;
  }
}
