import { seededRandom } from '../../../engine/seeded-random';
import { idsSpreadOverCells } from '../load-fleet';
import { RecentPayments } from '../payment-plan';
import { fakeCellOfUser } from './fake-gateway-client';

const merchant = {
  merchantId: 'm',
  cellId: 'cell-1',
  hot: false,
  credential: { keyId: 'k', secret: Buffer.alloc(32) },
};
const payment = (index: number) => ({
  paymentId: `pay_${index}`,
  merchant,
  amountMinor: BigInt(index),
});

describe('RecentPayments', () => {
  it('hands each payment to one refund, oldest first, and forgets the oldest past its bound', () => {
    const recent = new RecentPayments(3, seededRandom(1));
    for (let index = 1; index <= 5; index += 1) recent.add(payment(index));

    expect(recent.refundableCount).toBe(3);
    expect(
      [recent.takeForRefund(), recent.takeForRefund(), recent.takeForRefund()].map(
        (p) => p?.paymentId,
      ),
    ).toEqual(['pay_3', 'pay_4', 'pay_5']);
    expect(recent.takeForRefund()).toBeUndefined();
    // Queries still see the recent ones, refunded or not.
    expect(['pay_3', 'pay_4', 'pay_5']).toContain(recent.anyRecent()?.paymentId);
  });

  it('keeps its memory bounded over a long run', () => {
    const recent = new RecentPayments(10, seededRandom(1));
    for (let index = 0; index < 10_000; index += 1) {
      recent.add(payment(index));
      if (index % 3 === 0) recent.takeForRefund();
    }

    expect(recent.refundableCount).toBeLessThanOrEqual(10);
    expect(Number(recent.anyRecent()?.amountMinor)).toBeGreaterThanOrEqual(9_990);
  });

  it('has nothing before the first payment', () => {
    const recent = new RecentPayments(2, seededRandom(1));
    expect(recent.anyRecent()).toBeUndefined();
    expect(recent.takeForRefund()).toBeUndefined();
  });
});

describe('idsSpreadOverCells', () => {
  it('finds the first IDs routing to each cell', () => {
    expect(idsSpreadOverCells('u-', ['cell-2', 'cell-3'], 2, fakeCellOfUser, 100)).toEqual(
      new Map([
        ['cell-2', ['u-1', 'u-4']],
        ['cell-3', ['u-2', 'u-5']],
      ]),
    );
  });

  it('gives up within its bound, naming the cells it could not fill', () => {
    expect(() => idsSpreadOverCells('u-', ['cell-1', 'cell-9'], 1, fakeCellOfUser, 50)).toThrow(
      /no 1 IDs routing to cell-9 within 50 attempts/,
    );
  });
});
