import CircuitBreaker from 'opossum';

export type BreakerState = 'closed' | 'half_open' | 'open';

/** Numeric form of the breaker state for the `cellpay_circuit_breaker_state` gauge. */
export const breakerStateValue: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface CellBreakerOptions {
  /** Share of failed calls in the rolling window that opens the breaker. */
  readonly errorThresholdPercentage: number;
  /** Calls needed in the window before the breaker may open at all. */
  readonly volumeThreshold: number;
  /** How long an open breaker fails fast before it lets one trial call through. */
  readonly resetTimeoutMs: number;
  readonly rollingWindowMs: number;
  /** Backstop on a call's duration; gRPC deadlines normally end a call first. */
  readonly callTimeoutMs: number;
  /** Calls in flight to one cell; more fail fast rather than queue behind a slow cell. */
  readonly inFlightMax: number;
  /**
   * Whether an error says something about the cell's health. Business refusals (bad input,
   * insufficient funds) are answers from a healthy cell and must not open its breaker.
   */
  readonly isCellFailure: (error: unknown) => boolean;
}

export const cellBreakerDefaults: Omit<CellBreakerOptions, 'isCellFailure'> = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 2_000,
  rollingWindowMs: 10_000,
  callTimeoutMs: 5_000,
  inFlightMax: 2_000,
};

/** Raised instead of calling a cell whose breaker is open (or whose in-flight bound is reached). */
export class CellUnavailableError extends Error {
  constructor(
    readonly cellId: string,
    readonly reason: 'breaker_open' | 'in_flight_limit' | 'timeout',
  ) {
    super(`cell ${cellId} is unavailable (${reason})`);
    this.name = 'CellUnavailableError';
  }
}

type Call = () => Promise<unknown>;

/**
 * One opossum circuit breaker per cell, so a dead cell fails fast and does not slow the others:
 * each cell has its own failure statistics, in-flight bound and recovery probe.
 */
export class CellBreakers {
  private readonly breakers = new Map<string, CircuitBreaker<[Call], unknown>>();

  constructor(
    private readonly options: CellBreakerOptions,
    private readonly onStateChange: (cellId: string, state: BreakerState) => void = () => undefined,
  ) {}

  async call<T>(cellId: string, call: () => Promise<T>): Promise<T> {
    try {
      return (await this.breaker(cellId).fire(call)) as T;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EOPENBREAKER') throw new CellUnavailableError(cellId, 'breaker_open');
      if (code === 'ESEMLOCKED') throw new CellUnavailableError(cellId, 'in_flight_limit');
      if (code === 'ETIMEDOUT') throw new CellUnavailableError(cellId, 'timeout');
      throw error;
    }
  }

  state(cellId: string): BreakerState {
    const breaker = this.breakers.get(cellId);
    if (breaker === undefined || breaker.closed) return 'closed';
    return breaker.halfOpen ? 'half_open' : 'open';
  }

  shutdown(): void {
    for (const breaker of this.breakers.values()) breaker.shutdown();
    this.breakers.clear();
  }

  private breaker(cellId: string): CircuitBreaker<[Call], unknown> {
    const existing = this.breakers.get(cellId);
    if (existing !== undefined) return existing;
    const breaker = new CircuitBreaker<[Call], unknown>((call: Call) => call(), {
      name: cellId,
      timeout: this.options.callTimeoutMs,
      errorThresholdPercentage: this.options.errorThresholdPercentage,
      volumeThreshold: this.options.volumeThreshold,
      resetTimeout: this.options.resetTimeoutMs,
      rollingCountTimeout: this.options.rollingWindowMs,
      rollingCountBuckets: 10,
      capacity: this.options.inFlightMax,
      rollingPercentilesEnabled: false,
      allowWarmUp: false,
      // opossum's errorFilter returns true for errors that must NOT count as failures.
      errorFilter: (error: unknown) => !this.options.isCellFailure(error),
    });
    breaker.on('open', () => this.onStateChange(cellId, 'open'));
    breaker.on('halfOpen', () => this.onStateChange(cellId, 'half_open'));
    breaker.on('close', () => this.onStateChange(cellId, 'closed'));
    this.breakers.set(cellId, breaker);
    return breaker;
  }
}
