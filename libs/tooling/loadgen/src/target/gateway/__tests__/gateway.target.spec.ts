import { status } from '@grpc/grpc-js';

import { CellpayError } from '@cellpay/sdk';

import type { LoadOperation, OperationKind } from '../../../mix/operation-mix';
import { TargetSetupError } from '../../load-target';
import { errorStatusOf } from '../gateway-outcome';
import {
  GatewayTarget,
  type GatewayTargetOptions,
  noPaymentToRefundStatus,
} from '../gateway.target';
import type { FleetMerchant, LoadFleet } from '../load-fleet';
import { cellOfAccount, FakeGateway, fakeCellOfUser, refusal } from './fake-gateway-client';

const observer = { settlementLag: () => undefined, settlementUnsettled: () => undefined };
const credential = (keyId: string) => ({ keyId, secret: Buffer.alloc(32, 1) });
const merchant = (merchantId: string, cellId: string, hot = false): FleetMerchant => ({
  merchantId,
  cellId,
  hot,
  credential: credential(`key-${merchantId}`),
});

const fleet: LoadFleet = {
  gatewayAddress: '127.0.0.1:1',
  currency: 'CNY',
  walletBackend: credential('key-wallet'),
  merchants: [
    merchant('hot', 'cell-1', true),
    merchant('m1', 'cell-1'),
    merchant('m2', 'cell-2'),
    merchant('m3', 'cell-3'),
  ],
};
const merchantOfKey = (keyId: string) =>
  fleet.merchants.find((candidate) => candidate.credential.keyId === keyId);

function targetOn(
  gateway: FakeGateway,
  overrides: Partial<GatewayTargetOptions> = {},
): GatewayTarget {
  return new GatewayTarget({
    fleet,
    clientFactory: gateway.factory,
    cellOfUser: fakeCellOfUser,
    cells: ['cell-1', 'cell-2', 'cell-3'],
    payers: 30,
    topUpMinor: 1_000_000n,
    amountMinorMin: 100n,
    amountStepMinor: 100n,
    stress: true,
    crossCell: true,
    runTag: 'run1',
    seed: 3,
    log: () => undefined,
    ...overrides,
  });
}

const op = (sequence: number, kind: OperationKind, hotMerchant = false): LoadOperation => ({
  sequence,
  kind,
  hotMerchant,
});

describe('GatewayTarget', () => {
  it('funds the payers over every cell before the run, as shadow traffic by default', async () => {
    const gateway = new FakeGateway();
    const target = targetOn(gateway);

    await target.open(observer);

    expect(gateway.opened).toHaveLength(30);
    expect(gateway.opened.every((call) => call.stress)).toBe(true);
    const perCell = new Map<string, number>();
    for (const { userId } of gateway.opened) {
      const cell = fakeCellOfUser(userId);
      perCell.set(cell, (perCell.get(cell) ?? 0) + 1);
    }
    expect(perCell).toEqual(
      new Map([
        ['cell-1', 10],
        ['cell-2', 10],
        ['cell-3', 10],
      ]),
    );
    expect(gateway.topUps).toHaveLength(30);
    expect(gateway.topUps.every((topUp) => topUp.amount.amountMinor === 1_000_000n)).toBe(true);
    await target.close();
    expect(gateway.closed).toBe(fleet.merchants.length + 1);
  });

  it('sends live traffic unmarked with --live', async () => {
    const gateway = new FakeGateway();
    const target = targetOn(gateway, { stress: false });
    await target.open(observer);

    await target.execute(op(0, 'pay_same_cell'));

    expect(gateway.opened.some((call) => call.stress)).toBe(false);
    expect(gateway.pays[0]?.stress).toBe(false);
    await target.close();
  });

  it('pays a merchant from its own cell for same-cell and from another cell for cross-cell', async () => {
    const gateway = new FakeGateway();
    const target = targetOn(gateway);
    await target.open(observer);

    for (let sequence = 0; sequence < 200; sequence += 1) {
      const outcome = await target.execute(
        op(sequence, sequence % 2 === 0 ? 'pay_same_cell' : 'pay_cross_cell'),
      );
      expect(outcome.status).toBe('ok');
    }

    const sameCell = gateway.pays.filter((_, index) => index % 2 === 0);
    const crossCell = gateway.pays.filter((_, index) => index % 2 === 1);
    for (const pay of sameCell) {
      expect(cellOfAccount(pay.payerAccountId)).toBe(merchantOfKey(pay.keyId)?.cellId);
    }
    for (const pay of crossCell) {
      expect(cellOfAccount(pay.payerAccountId)).not.toBe(merchantOfKey(pay.keyId)?.cellId);
    }
    // Without the hot share, the hot merchant takes no payment; the others share them.
    const merchantsPaid = new Set(gateway.pays.map((pay) => merchantOfKey(pay.keyId)?.merchantId));
    expect(merchantsPaid).toEqual(new Set(['m1', 'm2', 'm3']));
    expect(gateway.pays[3]?.outTradeNo).toBe('run1-3');
    for (const pay of gateway.pays) {
      expect(pay.amount.currency).toBe('CNY');
      expect(pay.amount.amountMinor >= 100n && pay.amount.amountMinor <= 10_000n).toBe(true);
    }
    await target.close();
  });

  it('sends hot payments to the hot merchant, cross-cell ones from outside its cell', async () => {
    const gateway = new FakeGateway();
    const target = targetOn(gateway);
    await target.open(observer);

    await target.execute(op(0, 'pay_same_cell', true));
    await target.execute(op(1, 'pay_cross_cell', true));

    expect(gateway.pays.map((pay) => pay.keyId)).toEqual(['key-hot', 'key-hot']);
    expect(cellOfAccount(gateway.pays[0]?.payerAccountId ?? '')).toBe('cell-1');
    expect(cellOfAccount(gateway.pays[1]?.payerAccountId ?? '')).not.toBe('cell-1');
    await target.close();
  });

  it('refunds earlier payments, oldest first, each once and in full, as their merchant', async () => {
    const gateway = new FakeGateway();
    const target = targetOn(gateway);
    await target.open(observer);

    expect((await target.execute(op(0, 'refund'))).status).toBe(noPaymentToRefundStatus);
    await target.execute(op(1, 'pay_same_cell'));
    await target.execute(op(2, 'pay_cross_cell'));
    expect((await target.execute(op(3, 'refund'))).status).toBe('ok');
    expect((await target.execute(op(4, 'refund'))).status).toBe('ok');
    expect((await target.execute(op(5, 'refund'))).status).toBe(noPaymentToRefundStatus);

    expect(gateway.refunds).toEqual([
      {
        keyId: gateway.pays[0]?.keyId,
        paymentId: 'pay_0001p1',
        outRefundNo: 'run1-refund-3',
        amountMinor: gateway.pays[0]?.amount.amountMinor,
      },
      {
        keyId: gateway.pays[1]?.keyId,
        paymentId: 'pay_0001p2',
        outRefundNo: 'run1-refund-4',
        amountMinor: gateway.pays[1]?.amount.amountMinor,
      },
    ]);
    expect(target.refundablePayments).toBe(0);
    await target.close();
  });

  it('queries a recent payment as its merchant, or a payer balance before any payment', async () => {
    const gateway = new FakeGateway();
    const target = targetOn(gateway);
    await target.open(observer);

    expect((await target.execute(op(0, 'query'))).status).toBe('ok');
    expect(gateway.balances).toHaveLength(1);
    await target.execute(op(1, 'pay_same_cell'));
    expect((await target.execute(op(2, 'query'))).status).toBe('ok');

    expect(gateway.queries).toEqual([{ keyId: gateway.pays[0]?.keyId, paymentId: 'pay_0001p1' }]);
    await target.close();
  });

  it('counts every refusal by kind, gRPC status and reason, and a payment that failed is never refunded', async () => {
    const gateway = new FakeGateway((method, request) => {
      if (method === 'Pay' && String(request['outTradeNo']).endsWith('-1')) {
        return refusal(status.NOT_FOUND, 'account_not_found');
      }
      if (method === 'GetPayment') return refusal(status.UNAVAILABLE, 'cell_unavailable');
      return undefined;
    });
    const target = targetOn(gateway);
    await target.open(observer);

    expect((await target.execute(op(1, 'pay_cross_cell'))).status).toBe(
      'pay_cross_cell.NOT_FOUND.account_not_found',
    );
    expect((await target.execute(op(2, 'pay_same_cell'))).status).toBe('ok');
    expect((await target.execute(op(3, 'query'))).status).toBe(
      'query.UNAVAILABLE.cell_unavailable',
    );
    await target.execute(op(4, 'refund'));
    expect(gateway.refunds.map((refund) => refund.paymentId)).toEqual(['pay_0001p1']);
    expect(gateway.pays.map((pay) => pay.outTradeNo)).toEqual(['run1-2']);
    await target.close();
  });

  it('stops the setup with the reasons when a cell gets no funded payer', async () => {
    const gateway = new FakeGateway((method) =>
      method === 'OpenAccount' ? refusal(status.UNAVAILABLE, 'stress_traffic_rejected') : undefined,
    );
    const target = targetOn(gateway);

    const opening = target.open(observer);

    await expect(opening).rejects.toBeInstanceOf(TargetSetupError);
    await expect(opening).rejects.toThrow(
      /setup_open\.UNAVAILABLE\.stress_traffic_rejected ×30.*use --live/,
    );
    expect(gateway.closed).toBe(fleet.merchants.length + 1);
  });

  it('refuses a cross-cell mix on one cell and amounts the top-up cannot cover', () => {
    expect(() => targetOn(new FakeGateway(), { topUpMinor: 5_000n })).toThrow(
      'the top-up must cover',
    );
    return expect(
      targetOn(new FakeGateway(), { cells: ['cell-1'], payers: 3 }).open(observer),
    ).rejects.toThrow('cross-cell payments need payers in at least two cells');
  });
});

describe('errorStatusOf', () => {
  it('names what failed and keeps the name within the recorder bounds', () => {
    expect(errorStatusOf('refund', refusal(status.FAILED_PRECONDITION, 'insufficient_funds'))).toBe(
      'refund.FAILED_PRECONDITION.insufficient_funds',
    );
    expect(errorStatusOf('query', new Error('socket hang up'))).toBe('query.client_error');
    const breakerOpen = new CellpayError(status.UNAVAILABLE, 'cell_unavailable', 'open', {
      cell: 'cell-1',
      cause: 'breaker_open',
    });
    expect(errorStatusOf('pay_same_cell', breakerOpen)).toBe(
      'pay_same_cell.UNAVAILABLE.cell_unavailable.breaker_open',
    );
    expect(
      errorStatusOf('pay_same_cell', refusal(status.INTERNAL, 'a reason: with spaces'.repeat(4))),
    ).toMatch(/^pay_same_cell\.INTERNAL\.a_reason__with_spaces[A-Za-z0-9_.-]*$/);
    expect(errorStatusOf('pay_same_cell', refusal(status.INTERNAL, 'x'.repeat(100)))).toHaveLength(
      64,
    );
  });
});
