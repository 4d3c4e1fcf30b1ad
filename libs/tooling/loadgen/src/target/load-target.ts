import type { LoadOperation } from '../mix/operation-mix';

/** The status of a successful operation; anything else counts as an error under its name. */
export const okStatus = 'ok';

export interface OperationOutcome {
  /**
   * `ok`, or the name of what went wrong (a gRPC status name such as `UNAVAILABLE`, or a result
   * code such as `insufficient_funds`). Names are bounded by the recorder: see statusKindsMax.
   */
  readonly status: string;
}

/**
 * A target could not be prepared (its cluster refused the setup): the run cannot start, and the
 * message says why, without a stack trace.
 */
export class TargetSetupError extends Error {}

/**
 * Lets a target report what it learns after an operation returned. A target reports a settlement
 * at the moment it sees it happen: the engine files it under the second it is reported in.
 */
export interface LoadTargetObserver {
  /** One cross-cell payment went from its acknowledgement to settled in `seconds`. */
  settlementLag(seconds: number): void;
  /** One followed payment was not seen settled within the target's bound (never counted as 0). */
  settlementUnsettled(): void;
}

/**
 * What actually sends requests. The generator only schedules and measures; a target turns an
 * operation into a request (the gateway SDK, signing like a real merchant) and says how it ended.
 * `execute` must not throw for an operating error: it returns the status instead. A throw is
 * recorded as `target_error`.
 */
export interface LoadTarget {
  readonly name: string;
  open(observer: LoadTargetObserver): Promise<void>;
  execute(operation: LoadOperation): Promise<OperationOutcome>;
  /**
   * After the last operation: resolves once every settlement the target follows was reported
   * (settled or unsettled), within `settlementTailWaitMsMax`, so the last seconds of the curve
   * are not silently empty. A target that reports no settlements leaves both out.
   */
  settled?(): Promise<void>;
  /** The longest `settled()` may take; the engine stops waiting after it in any case. */
  readonly settlementTailWaitMsMax?: number;
  /** Stops background work (settlement watchers); called once, after `settled()`. */
  close(): Promise<void>;
}
