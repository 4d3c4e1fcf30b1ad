import { CellError, CellErrorCode, type UnitOfWork } from '@cellpay/cell-domain';

import { DrainingUnitOfWork } from './draining-unit-of-work';

/** Units that run until the test lets them finish, one by one. */
function heldUnits() {
  const releases: (() => void)[] = [];
  const inner: UnitOfWork = {
    run: <T>() =>
      new Promise<T>((resolve) => {
        releases.push(() => resolve('committed' as T));
      }),
  };
  return { inner, releases };
}

describe('the draining unit of work', () => {
  it('lets running units finish after the door closed and refuses new ones as retryable', async () => {
    const { inner, releases } = heldUnits();
    const units = new DrainingUnitOfWork(inner);
    const first = units.run('payment.pay', async () => 'unused');
    const second = units.run('payment.pay', async () => 'unused');
    await Promise.resolve();

    units.stopAccepting();
    const refused = units.run('payment.pay', async () => 'unused');
    const drained = units.drained(5_000);
    for (const release of releases) release();

    await expect(Promise.all([first, second])).resolves.toEqual(['committed', 'committed']);
    await expect(refused).rejects.toEqual(
      new CellError(
        CellErrorCode.ShardUnavailable,
        'payment.pay: the cell is shutting down; retry',
      ),
    );
    await expect(drained).resolves.toBe(true);
    expect(units.inFlight).toBe(0);
  });

  it('gives up waiting at its bound while a unit is still running', async () => {
    const { inner } = heldUnits();
    const units = new DrainingUnitOfWork(inner);
    void units.run('payment.pay', async () => 'unused');
    units.stopAccepting();

    await expect(units.drained(20)).resolves.toBe(false);
    expect(units.inFlight).toBe(1);
  });

  it('is drained at once when nothing runs', async () => {
    await expect(new DrainingUnitOfWork(heldUnits().inner).drained(1)).resolves.toBe(true);
  });
});
