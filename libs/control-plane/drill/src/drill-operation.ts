import type { TimelineStep } from '@cellpay/failover';

import type { AcknowledgedPayment } from './drill-load';

/** One step of a drilled operation, as the drill report's timeline shows it. */
export type DrillStep = TimelineStep;

export interface DrillOperationResult {
  readonly steps: readonly DrillStep[];
  /** Facts worth a line in the report (engine write unavailability, epochs, rejoin outcome...). */
  readonly facts: Readonly<Record<string, string | number | boolean>>;
  /**
   * How the operation ended when it ran to its own end without throwing: `aborted` means it
   * stopped and undid itself (a migration that rolled back), `failed` that it stopped half-way.
   * Absent means done.
   */
  readonly outcome?: 'done' | 'aborted' | 'failed';
  /** Why it did not complete. */
  readonly reason?: string;
  /**
   * The interval in which clients feel the operation (a migration's freeze): the report judges
   * client errors inside it. Absent: the whole operation's run.
   */
  readonly window?: { readonly name: string; readonly from: Date; readonly to: Date };
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

/** Where acknowledged payments were found when more than one shard may hold them. */
export interface PaymentPlacement {
  /** Payments held twice: the same ID on two shards, or two payments for one `out_trade_no`. */
  readonly duplicated: readonly string[];
  /** Payments found, but not on the shard where they belong after the operation. */
  readonly misplaced: readonly string[];
  /** Payments that stayed where they were by design (a migration keeps those whose payee stays). */
  readonly keptOnSource?: readonly string[];
}

/** What the drill checks once the load has drained. */
export interface DrillVerifier {
  /** Of these acknowledged payment IDs, the ones the cell's shard does not hold (RPO). */
  missingPayments(paymentIds: readonly string[]): Promise<string[]>;
  /** Duplicates and misplaced payments, for drills that move payments between shards. */
  placement?(acknowledged: readonly AcknowledgedPayment[]): Promise<PaymentPlacement>;
  /** The cell's reconciliation on its current primary. */
  reconcile(): Promise<{ readonly clean: boolean; readonly summary: string }>;
}
