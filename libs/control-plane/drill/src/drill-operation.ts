import type { TimelineStep } from '@cellpay/failover';

/** One step of a drilled operation, as the drill report's timeline shows it. */
export type DrillStep = TimelineStep;

export interface DrillOperationResult {
  readonly steps: readonly DrillStep[];
  /** Facts worth a line in the report (engine write unavailability, epochs, rejoin outcome...). */
  readonly facts: Readonly<Record<string, string | number | boolean>>;
}

/**
 * What a drill performs under load. A failover is one; a slot migration plugs in the same way:
 * wrap the operation's call in `run` and return its steps and facts.
 */
export interface DrillOperation {
  /** Short name for the report, e.g. `failover cell-1 -> region-b`. */
  readonly name: string;
  run(): Promise<DrillOperationResult>;
}

/** What the drill checks once the load has drained. */
export interface DrillVerifier {
  /** Of these acknowledged payment IDs, the ones the cell's shard does not hold (RPO). */
  missingPayments(paymentIds: readonly string[]): Promise<string[]>;
  /** The cell's reconciliation on its current primary. */
  reconcile(): Promise<{ readonly clean: boolean; readonly summary: string }>;
}
