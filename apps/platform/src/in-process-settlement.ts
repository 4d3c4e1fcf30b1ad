import type { SettlementEvent } from '@cellpay/settlement-domain';
import type { ApplyOutcome, OutboxSource } from '@cellpay/settlement-messaging';
import type { Logger } from '@cellpay/observability';

/** One embedded cell as the bus sees it: its outbox, and its applier while its server runs. */
export interface BusCell {
  readonly cellId: string;
  readonly outbox: OutboxSource;
  /** Undefined while the cell is down: its events wait in the senders' outboxes. */
  applier(): { apply(event: SettlementEvent): Promise<ApplyOutcome> } | undefined;
}

export interface InProcessSettlementBusOptions {
  /** Outbox rows moved per cell and round. */
  readonly batchSizeMax: number;
  /** Pause between rounds that moved nothing. */
  readonly idleWaitMs: number;
}

export const inProcessSettlementBusDefaults: InProcessSettlementBusOptions = {
  batchSizeMax: 200,
  idleWaitMs: 25,
};

/**
 * What the relay, Kafka and the inbox consumer do between real cells, inside one process for the
 * embedded platform: each round moves every cell's unpublished outbox rows, in outbox order, to
 * the destination cell's applier, and marks a row published only after it was applied. Delivery
 * is at least once (a round that fails after applying re-delivers; the inbox makes that a
 * duplicate). An event that fails to apply stops its cell's round, so order per cell holds, and
 * is retried next round: the embedded platform has no dead-letter topic.
 */
export class InProcessSettlementBus {
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly cells: readonly BusCell[],
    private readonly logger: Logger,
    private readonly options: InProcessSettlementBusOptions = inProcessSettlementBusDefaults,
  ) {}

  start(): void {
    if (this.running !== undefined) return;
    this.stopped = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  /** Moves what is in the outboxes now, one round per cell; returns the events applied. */
  async round(): Promise<number> {
    let moved = 0;
    for (const cell of this.cells) moved += await this.deliverFrom(cell);
    return moved;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const moved = await this.round().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'in-process settlement round failed; retrying');
        return 0;
      });
      if (moved === 0 && !this.stopped) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, this.options.idleWaitMs);
        });
      }
    }
  }

  private async deliverFrom(cell: BusCell): Promise<number> {
    const rows = await cell.outbox.fetchUnpublished(this.options.batchSizeMax);
    const delivered: bigint[] = [];
    for (const row of rows) {
      const destination = this.cells.find(
        (candidate) => candidate.cellId === row.event.destinationCellId,
      );
      const applier = destination?.applier();
      if (applier === undefined) break;
      try {
        await applier.apply(row.event);
      } catch (error) {
        this.logger.warn(
          { err: error, eventId: row.event.eventId },
          'settlement event not applied; retrying next round',
        );
        break;
      }
      delivered.push(row.sequence);
    }
    if (delivered.length > 0) await cell.outbox.markPublished(delivered);
    return delivered.length;
  }
}
