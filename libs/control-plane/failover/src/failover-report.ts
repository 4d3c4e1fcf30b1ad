import type { UnacknowledgedTail } from './acknowledged-data-judgement';
import type { ReplicationFacts } from './shard-node';
import type { TimelineStep } from './operation-timeline';

/** Callbacks of the control plane around the shard work: routing freeze, epoch, services. */
export interface FailoverHooks {
  /** Before the old primary is fenced: freeze the cell's slots (clients get a retryable status). */
  beforeFence?(): Promise<void>;
  /** Before the new primary becomes writable: point the cell's services at it. */
  beforePromote?(): Promise<void>;
  /** Once the new primary is writable: set the active region, bump the epoch, unfreeze. */
  afterPromote?(): Promise<void>;
  /** The operation failed and the shard was put back as it was: unfreeze on the old primary. */
  afterAbort?(error: unknown): Promise<void>;
}

export interface FailoverReport {
  readonly kind: 'planned' | 'unplanned';
  readonly from: string;
  readonly to: string;
  readonly timeline: readonly TimelineStep[];
  /** From the moment writes stopped (fence, or the primary's death) to the new primary writable. */
  readonly writeUnavailableMs: number;
  /** The GTID position the new primary was promoted at; the fork point for a returning primary. */
  readonly promotedAtPosition: string;
  readonly before: {
    readonly primary: ReplicationFacts | null;
    readonly replica: ReplicationFacts;
  };
  readonly after: { readonly primary: ReplicationFacts; readonly replica: ReplicationFacts | null };
  /** Whether the new primary had a semi-sync replica acknowledging by the end. */
  readonly semiSyncEstablished: boolean;
  readonly killedConnections: number;
  /**
   * Unplanned only: what the dead primary wrote and never acknowledged, left behind by the
   * promotion (the returning old primary then needs a rebuild); null when nothing was left.
   */
  readonly unacknowledgedTail: UnacknowledgedTail | null;
}
