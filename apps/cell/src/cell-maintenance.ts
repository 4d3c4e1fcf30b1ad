import { AccountService } from '@cellpay/cell-account';
import { AccountingService } from '@cellpay/cell-accounting';
import type { GlPostingSwitch } from '@cellpay/cell-domain';
import { PaymentService } from '@cellpay/cell-payment';
import { type Logger, runInRequestContext } from '@cellpay/observability';

/** Pause between two maintenance rounds; a round never overlaps the next. */
export const maintenanceIntervalMs = 1_000;
/** Holds and authorizations expired per round; the next round takes the rest. */
export const expiryBatchSizeMax = 500;

export interface MaintenanceRound {
  readonly holdsExpired: number;
  readonly authorizationsExpired: number;
  readonly journalsPosted: number;
}

interface Services {
  get<T>(type: new (...args: never[]) => T): T;
}

/**
 * The cell's background work: release lapsed holds, expire lapsed authorizations, and post the
 * general-ledger backlog while posting is not deferred. Runs at its own pace, in bounded batches,
 * off the request path; a failed round is logged and the next one tries again.
 */
export class CellMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly services: Services,
    private readonly glPostingSwitch: GlPostingSwitch,
    private readonly logger: Logger,
  ) {}

  /**
   * One round over the live tables, then one over the shadow tables (stress traffic has holds,
   * authorizations and a ledger backlog of its own); returns the totals of both.
   */
  async runOnce(): Promise<MaintenanceRound> {
    const live = await this.runOnTables();
    const shadow = await runInRequestContext(
      { requestId: `maintenance-${Date.now()}`, stress: true },
      () => this.runOnTables(),
    );
    return {
      holdsExpired: live.holdsExpired + shadow.holdsExpired,
      authorizationsExpired: live.authorizationsExpired + shadow.authorizationsExpired,
      journalsPosted: live.journalsPosted + shadow.journalsPosted,
    };
  }

  private async runOnTables(): Promise<MaintenanceRound> {
    const holdsExpired = await this.services.get(AccountService).expireHolds(expiryBatchSizeMax);
    const authorizationsExpired = await this.services
      .get(PaymentService)
      .expireAuthorizations(expiryBatchSizeMax);
    const journalsPosted = this.glPostingSwitch.isGlPostingDeferred()
      ? 0
      : (await this.services.get(AccountingService).catchUp()).postedCount;
    return { holdsExpired, authorizationsExpired, journalsPosted };
  }

  start(): void {
    const schedule = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.round = this.runOnce()
          .then((round) => {
            if (round.holdsExpired + round.authorizationsExpired + round.journalsPosted > 0) {
              this.logger.info(round, 'cell maintenance round');
            }
          })
          .catch((error: unknown) => this.logger.error({ err: error }, 'cell maintenance failed'))
          .finally(schedule);
      }, maintenanceIntervalMs);
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.round;
  }
}
