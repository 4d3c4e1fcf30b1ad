import { MemoryCellStore } from '@cellpay/cell-data-access';
import { AccountKind, type Account } from '@cellpay/cell-domain';

import { CrashableUnitOfWork, type WriteObserver } from './crashable-unit-of-work';
import { ProcessCrashed, SimProcess } from './sim-process';

const account = (id: string): Account => ({
  id,
  kind: AccountKind.UserWallet,
  ownerId: id,
  currency: 'CNY',
  allowNegative: false,
  balanceMinor: 0n,
  heldMinor: 0n,
  createdAt: new Date(Date.UTC(2026, 0, 1)),
});

function setup(): {
  store: MemoryCellStore;
  process: SimProcess;
  unitOfWork: CrashableUnitOfWork;
  committed: string[];
} {
  const store = new MemoryCellStore();
  const process = new SimProcess('cell-1/cell');
  process.boot();
  const committed: string[] = [];
  const observer: WriteObserver = {
    journalInserted: () => undefined,
    balanceWritten: () => undefined,
    writeCommitted: (cellId) => void committed.push(`write ${cellId}`),
    keyCommitted: (_cellId, scope, key) => void committed.push(`key ${scope}|${key}`),
  };
  return {
    store,
    process,
    unitOfWork: new CrashableUnitOfWork(store, process, 'cell-1', observer),
    committed,
  };
}

const count = (store: MemoryCellStore): Promise<number> =>
  store.run('count', async (tx) => (await tx.accounts.listAfter('', 10)).length);

describe('CrashableUnitOfWork', () => {
  it('rolls the transaction back when the process dies at a storage call inside it', async () => {
    const { store, process, unitOfWork, committed } = setup();
    process.arm({ kind: 'storage-call', callsLeft: 2 });
    await expect(
      unitOfWork.run('open', async (tx) => {
        await tx.accounts.insert(account('acc_0001AAAAAAAA'));
        await tx.accounts.insert(account('acc_0001BBBBBBBB'));
      }),
    ).rejects.toBeInstanceOf(ProcessCrashed);
    expect(process.up).toBe(false);
    expect(await count(store)).toBe(0);
    expect(committed).toEqual([]);
    // A dead process cannot even begin a transaction until it is restarted.
    await expect(unitOfWork.run('open', async () => undefined)).rejects.toBeInstanceOf(
      ProcessCrashed,
    );
  });

  it('keeps the commit and loses the reply when the process dies right after committing', async () => {
    const { store, process, unitOfWork, committed } = setup();
    process.arm({ kind: 'after-commit' });
    await expect(
      unitOfWork.run('pay', async (tx) => {
        await tx.idempotency.claim({ scope: 's', key: 'k', requestHash: 'h', responseJson: '' });
        await tx.idempotency.complete('s', 'k', '{}');
        await tx.accounts.insert(account('acc_0001CCCCCCCC'));
      }),
    ).rejects.toBeInstanceOf(ProcessCrashed);
    expect(await count(store)).toBe(1);
    expect(committed).toEqual(['write cell-1', 'key s|k']);
    process.boot();
    expect(process.up).toBe(true);
    expect(process.incarnation).toBe(2);
  });

  it('reports nothing for a transaction that fails on its own', async () => {
    const { store, unitOfWork, committed } = setup();
    await expect(
      unitOfWork.run('pay', async (tx) => {
        await tx.idempotency.claim({ scope: 's', key: 'k', requestHash: 'h', responseJson: '' });
        await tx.idempotency.complete('s', 'k', '{}');
        throw new Error('insufficient funds');
      }),
    ).rejects.toThrow('insufficient funds');
    expect(committed).toEqual([]);
    expect(await store.run('find', (tx) => tx.idempotency.find('s', 'k'))).toBeUndefined();
  });
});
