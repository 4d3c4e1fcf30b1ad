import { MemoryCellStore } from '@cellpay/cell-data-access';
import {
  type Account,
  AccountKind,
  applyChange,
  type Journal,
  JournalKind,
  movement,
  requireAccount,
  SequenceIdGenerator,
  signedAmount,
} from '@cellpay/cell-domain';
import { type CurrencyCode } from '@cellpay/money';
import { slotOf } from '@cellpay/routing';
import { type SettlementEvent, SettlementEventType } from '@cellpay/settlement-domain';

import {
  deliverAll,
  payerAndMerchant,
  type SettlementCellUnderTest,
  startSettlementCell,
  userOn,
} from './__tests__/settlement-cell.harness';
import { cellIds, RoutingWorld, slotCount } from './__tests__/routing-world';
import { CellOutboxSource } from './cell-outbox-source';
import { reconcileGlobal } from './global-reconciliation';
import { MemorySettlementStore } from './memory/memory-settlement-store';
import {
  forwardedAtEpochAttribute,
  RoutingBehindForwarderError,
} from './use-cases/apply-settlement-event.use-case';

describe('settlement events for an account whose slot moved', () => {
  let world: RoutingWorld;
  let cells: Map<string, SettlementCellUnderTest>;
  const cellOf = (cellId: string): SettlementCellUnderTest => {
    const cell = cells.get(cellId);
    if (cell === undefined) throw new Error(`no ${cellId}`);
    return cell;
  };
  const all = (): SettlementCellUnderTest[] => [...cells.values()];
  const balance = async (cellId: string, accountId: string): Promise<string> =>
    (await cellOf(cellId).accounts.balance(accountId)).balanceMinor;
  const initialRouter = new RoutingWorld().routingOf('cell-1').router;
  const merchantId = userOn(initialRouter, 'cell-1', 'moving-shop');
  const merchantSlot = slotOf(merchantId, slotCount);
  let merchantAccountId: string;
  let payerAccountId: string;
  let journalCounter = 0;

  beforeEach(async () => {
    world = new RoutingWorld();
    cells = new Map();
    for (const cellId of cellIds) {
      const { router, slotOwnership } = world.routingOf(cellId);
      cells.set(
        cellId,
        await startSettlementCell(
          cellId,
          new MemoryCellStore(),
          new MemorySettlementStore(),
          router,
          slotOwnership,
        ),
      );
    }
    // The helper names the merchant `${tag}-shop`: the one whose slot is computed above.
    ({ merchantAccountId, payerAccountId } = await payerAndMerchant(
      initialRouter,
      cellOf('cell-2'),
      cellOf('cell-1'),
      'moving',
      '10000',
    ));
  });

  afterEach(async () => {
    for (const cell of cells.values()) await cell.close();
  });

  const pay = (outTradeNo: string, amountMinor: string) =>
    cellOf('cell-2').crossCell.pay({
      merchantId,
      outTradeNo,
      payerAccountId,
      amountMinor,
      currency: 'CNY',
    });

  async function unpublished(cellId: string): Promise<SettlementEvent[]> {
    const cell = cellOf(cellId);
    const rows = await new CellOutboxSource(cell.unitOfWork, cell.store).fetchUnpublished(100);
    return rows.map((row) => row.event);
  }

  /** Posts as the migration's SQL does: below the ledger poster, so no slot rule applies. */
  async function postAsMigration(cellId: string, journal: Journal): Promise<void> {
    await cellOf(cellId).unitOfWork.run('test.migration', async (tx) => {
      const ids = [...new Set(journal.lines.map((line) => line.accountId))];
      const accounts = new Map<string, Account>(await tx.accounts.lockForUpdate(ids));
      for (const line of journal.lines) {
        const account = requireAccount(accounts.get(line.accountId), line.accountId);
        accounts.set(account.id, applyChange(account, signedAmount(line)));
      }
      for (const account of accounts.values()) await tx.accounts.updateBalance(account);
      await tx.journals.insert(journal);
    });
  }

  /**
   * What `migrate-slots` does to the merchant's account, in the books: the account is copied to
   * the target (same ID), its balance is booked there against the target's clearing account of
   * the source, and the source's anchor is zeroed against its clearing account of the target.
   */
  async function moveMerchant(targetCellId: string): Promise<void> {
    const source = cellOf('cell-1');
    const target = cellOf(targetCellId);
    const account = requireAccount(
      await source.unitOfWork.run('test.read', (tx) => tx.accounts.findById(merchantAccountId)),
      merchantAccountId,
    );
    await target.unitOfWork.run('test.copy', (tx) =>
      tx.accounts.insert({ ...account, balanceMinor: 0n, heldMinor: 0n }),
    );
    if (account.balanceMinor === 0n) return;
    const clearingOf = async (cell: SettlementCellUnderTest, counterparty: string) =>
      (
        await cell.accounts.openAccount({
          kind: AccountKind.Clearing,
          ownerId: counterparty,
          currency: 'CNY',
        })
      ).accountId;
    const ids = new SequenceIdGenerator('MIG');
    const header = () => ({
      id: ids.next('journal', merchantSlot).replace('MIG', `MIG${journalCounter++}x`),
      kind: JournalKind.Settlement,
      referenceId: 'migration-1',
      createdAt: new Date(),
    });
    const amount = account.balanceMinor;
    const currency = account.currency as CurrencyCode;
    await postAsMigration(
      targetCellId,
      movement(header(), await clearingOf(target, 'cell-1'), merchantAccountId, amount, currency),
    );
    await postAsMigration(
      'cell-1',
      movement(
        header(),
        merchantAccountId,
        await clearingOf(source, targetCellId),
        amount,
        currency,
      ),
    );
  }

  async function expectBooksClean(): Promise<void> {
    expect(await reconcileGlobal(all())).toMatchObject({ clean: true, quiet: true });
    for (const cell of all()) {
      const report = await cell.accounting.reconcile();
      expect(report.differences).toEqual([]);
    }
  }

  it('forwards a credit to the new owner once, never applies it on the anchor, and settles', async () => {
    const saga = await pay('order-1', '2500');
    const [credit] = await unpublished('cell-2');
    if (credit === undefined) throw new Error('no credit in the outbox');
    expect(credit).toMatchObject({ type: SettlementEventType.CreditRequested });

    // Frozen while it moves: the credit waits (retryable), nothing is written.
    world.change(merchantSlot, { cellId: 'cell-1', state: 'frozen' });
    await expect(cellOf('cell-1').applier.apply(credit)).rejects.toMatchObject({
      code: 'slot_frozen',
    });
    await moveMerchant('cell-3');
    // The flip: cell-3 owns the slot; cell-3's own follower has not seen it yet.
    world.change(merchantSlot, { cellId: 'cell-3', state: 'active' }, ['cell-1', 'cell-2']);

    expect(await cellOf('cell-1').applier.apply(credit)).toBe('forwarded');
    expect(await cellOf('cell-1').applier.apply(credit)).toBe('duplicate');
    const forwarded = await unpublished('cell-1');
    expect(forwarded).toHaveLength(1);
    const [passed] = forwarded;
    if (passed === undefined) throw new Error('nothing forwarded');
    expect(passed).toMatchObject({
      eventId: credit.eventId,
      sourceCellId: 'cell-1',
      destinationCellId: 'cell-3',
      amountMinor: 2500n,
      attributes: { ...credit.attributes, [forwardedAtEpochAttribute]: world.epoch.toString() },
    });
    // While the money is between cell-1 and cell-3, every pair of cells still nets to what is
    // in flight between them.
    expect(await reconcileGlobal(all())).toMatchObject({ clean: true, quiet: false });

    // cell-3 cannot judge a slot by an older table than the forwarder's: it waits.
    await expect(cellOf('cell-3').applier.apply(passed)).rejects.toBeInstanceOf(
      RoutingBehindForwarderError,
    );
    world.catchUp('cell-3');
    await deliverAll(all());

    expect(await balance('cell-3', merchantAccountId)).toBe('2500');
    expect(await balance('cell-1', merchantAccountId)).toBe('0');
    expect(await balance('cell-2', payerAccountId)).toBe('7500');
    expect((await cellOf('cell-2').crossCell.saga(saga.sagaId)).state).toBe('settled');
    // Redelivered anywhere along the way, it changes nothing.
    expect(await cellOf('cell-3').applier.apply(passed)).toBe('duplicate');
    expect(await cellOf('cell-1').applier.apply(credit)).toBe('duplicate');
    expect(await balance('cell-3', merchantAccountId)).toBe('2500');
    await expectBooksClean();
  });

  it('passes a credit back to the payer’s own cell when the payee moved there', async () => {
    const saga = await pay('order-2', '900');
    world.change(merchantSlot, { cellId: 'cell-1', state: 'frozen' });
    await moveMerchant('cell-2');
    world.change(merchantSlot, { cellId: 'cell-2', state: 'active' });
    await deliverAll(all());
    expect(await balance('cell-2', merchantAccountId)).toBe('900');
    expect(await balance('cell-1', merchantAccountId)).toBe('0');
    expect((await cellOf('cell-2').crossCell.saga(saga.sagaId)).state).toBe('settled');
    await expectBooksClean();
  });

  it('forwards a refund debit to the merchant’s new cell and the refunded money back', async () => {
    const payment = await pay('order-3', '2500');
    await deliverAll(all());
    expect(await balance('cell-1', merchantAccountId)).toBe('2500');
    const refund = await cellOf('cell-2').crossCell.refund({
      merchantId,
      paymentId: payment.sagaId,
      outRefundNo: 'r-1',
      amountMinor: '400',
    });
    world.change(merchantSlot, { cellId: 'cell-1', state: 'frozen' });
    await moveMerchant('cell-3');
    world.change(merchantSlot, { cellId: 'cell-3', state: 'active' });
    await deliverAll(all());

    expect((await cellOf('cell-2').crossCell.saga(refund.sagaId)).state).toBe('succeeded');
    expect(await balance('cell-3', merchantAccountId)).toBe('2100');
    expect(await balance('cell-1', merchantAccountId)).toBe('0');
    expect(await balance('cell-2', payerAccountId)).toBe('7900');
    await expectBooksClean();
  });
});
