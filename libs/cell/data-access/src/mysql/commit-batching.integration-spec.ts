import type { PoolConnection, RowDataPacket } from 'mysql2/promise';

import {
  type Account,
  AccountKind,
  type CellTransaction,
  CellError,
  CellErrorCode,
  SequenceIdGenerator,
} from '@cellpay/cell-domain';
import { createTestShard, type TestShard } from '@cellpay/cell-testing';
import { runInRequestContext } from '@cellpay/observability';

import { cellStoreContract } from '../__tests__/cell-store.contract';
import { runIdempotent } from '../idempotency';
import { migrateCellShard } from './migrations';
import {
  type MysqlCommitBatching,
  MysqlCellStore,
  mysqlCellStoreOptionsDefault,
} from './mysql-cell-store';
import { liveTables, shadowTables } from './table-set';

/** Every unit through the savepoint path, even alone: what the contract must hold under. */
const batchEverything: MysqlCommitBatching = {
  operations: 'all',
  batchSizeMax: 16,
  batchWaitMsMax: 0,
  batchesInFlightMax: 4,
  queuedUnitsMax: 1_000,
  singleUnitsBatched: true,
};

cellStoreContract('MySQL adapter on MariaDB, commit batching on', async () => {
  const shard = await createTestShard(async (pool) => {
    await migrateCellShard(pool, liveTables);
    await migrateCellShard(pool, shadowTables);
  });
  return {
    unitOfWork: new MysqlCellStore(shard.pool, undefined, {
      ...mysqlCellStoreOptionsDefault,
      batching: batchEverything,
    }),
    close: () => shard.drop(),
  };
});

describe('MySQL commit batching', () => {
  let shard: TestShard;
  let store: MysqlCellStore;
  const ids = new SequenceIdGenerator('BT');

  const wallet = (ownerId: string): Account => ({
    id: ids.next('account', 7),
    kind: AccountKind.UserWallet,
    ownerId,
    currency: 'CNY',
    allowNegative: false,
    balanceMinor: 0n,
    heldMinor: 0n,
    createdAt: new Date(Date.UTC(2026, 10, 21)),
  });

  async function ownersIn(table: string): Promise<string[]> {
    const [rows] = await shard.pool.query<RowDataPacket[]>(
      `SELECT owner_id FROM ${table} ORDER BY owner_id`,
    );
    return rows.map((row) => String(row['owner_id']));
  }

  beforeEach(async () => {
    shard = await createTestShard(async (pool) => {
      await migrateCellShard(pool, liveTables);
      await migrateCellShard(pool, shadowTables);
    });
    // A window long enough that units started together share one batch.
    store = new MysqlCellStore(shard.pool, undefined, {
      ...mysqlCellStoreOptionsDefault,
      batching: { ...batchEverything, batchWaitMsMax: 50, singleUnitsBatched: false },
    });
  });
  afterEach(async () => {
    await shard.drop();
  });

  it('rolls back the unit whose statement failed and commits the others of its batch', async () => {
    const taken = wallet('taken');
    await store.run('seed', (tx) => tx.accounts.insert(taken));
    const results = await Promise.allSettled([
      store.run('open', (tx) => tx.accounts.insert(wallet('a'))),
      store.run('open', async (tx) => {
        await tx.accounts.insert(wallet('b-partial'));
        // Same primary key as an existing row: ER_DUP_ENTRY, the transaction stays usable.
        await tx.accounts.insert({ ...wallet('b-duplicate'), id: taken.id });
      }),
      store.run('open', (tx) => tx.accounts.insert(wallet('c'))),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: { errno: 1062 } });
    expect(await ownersIn('accounts')).toEqual(['a', 'c', 'taken']);
    expect(store.batchingStats()).toMatchObject({
      batchesCommitted: 1,
      unitsCommittedInBatches: 3,
      batchesAbandoned: 0,
    });
  });

  it('runs the units of a batch whose connection was killed again, alone, once each', async () => {
    const admin = await shard.pool.getConnection();
    try {
      let kills = 0;
      const owners = ['k1', 'k2', 'k3', 'k4', 'k5'];
      const results = await Promise.allSettled(
        owners.map((owner, index) =>
          store.run('open', async (tx) => {
            await tx.accounts.insert(wallet(owner));
            if (index === 2 && kills === 0 && tx.handle.adapter === 'mysql') {
              kills += 1;
              // Kill this batch's own connection from outside, as a crash or a fence would.
              const connection = tx.handle.connection as PoolConnection;
              const [rows] = await connection.query<RowDataPacket[]>(
                'SELECT CONNECTION_ID() AS id',
              );
              await admin.query(`KILL CONNECTION ${Number(rows[0]?.['id'])}`);
              await connection.query('SELECT 1');
            }
          }),
        ),
      );
      expect(results.map((result) => result.status)).toEqual(owners.map(() => 'fulfilled'));
      expect(kills).toBe(1);
      // Every unit's row exists exactly once: the killed batch left nothing behind.
      expect(await ownersIn('accounts')).toEqual(owners);
      expect(store.batchingStats()).toMatchObject({ batchesAbandoned: 1, unitsRunAlone: 5 });
    } finally {
      admin.release();
    }
  });

  it('answers two units with one idempotency key in one batch once, from the stored response', async () => {
    let runs = 0;
    const idempotent = { scope: 'payment:m-1', key: 'same-key', request: { amountMinor: '5' } };
    const work = async (tx: CellTransaction) => {
      runs += 1;
      await tx.accounts.insert(wallet(`idem-${runs}`));
      return { run: runs };
    };
    const answers = await Promise.all([
      runIdempotent(store, 'pay', idempotent, work),
      runIdempotent(store, 'pay', idempotent, work),
    ]);
    expect(answers).toEqual([{ run: 1 }, { run: 1 }]);
    expect(runs).toBe(1);
    expect(await ownersIn('accounts')).toEqual(['idem-1']);
    // The look-ups and the claims each shared a batch: the duplicate claim failed inside it.
    expect(store.batchingStats()).toMatchObject({ batchesCommitted: 2, batchesAbandoned: 0 });
  });

  it('gives two units with one key in one batch the same stored refusal, with no effect', async () => {
    let runs = 0;
    const idempotent = { scope: 'payment:m-1', key: 'refused-key', request: { amountMinor: '9' } };
    const work = async (tx: CellTransaction) => {
      runs += 1;
      await tx.accounts.insert(wallet(`refused-${runs}`));
      throw new CellError(CellErrorCode.InsufficientFunds, 'not enough');
    };
    const answers = await Promise.allSettled([
      runIdempotent(store, 'pay', idempotent, work),
      runIdempotent(store, 'pay', idempotent, work),
    ]);
    expect(answers).toEqual([
      { status: 'rejected', reason: expect.objectContaining({ code: 'insufficient_funds' }) },
      { status: 'rejected', reason: expect.objectContaining({ code: 'insufficient_funds' }) },
    ]);
    const runsBefore = runs;
    // The refusal is the key's answer now: a later attempt gets it without running the work.
    await expect(runIdempotent(store, 'pay', idempotent, work)).rejects.toMatchObject({
      code: 'insufficient_funds',
    });
    expect(runs).toBe(runsBefore);
    expect(await ownersIn('accounts')).toEqual([]);
    const [keys] = await shard.pool.query<RowDataPacket[]>(
      'SELECT response_json FROM idempotency_keys WHERE idem_key = ?',
      ['refused-key'],
    );
    expect(keys).toHaveLength(1);
    expect(String(keys[0]?.['response_json'])).toContain('insufficient_funds');
  });

  it('never mixes live and stress units in one batch: each lands in its own tables', async () => {
    const stress = <T>(work: () => Promise<T>): Promise<T> =>
      runInRequestContext({ requestId: 'stress', stress: true }, work);
    await Promise.all([
      store.run('open', (tx) => tx.accounts.insert(wallet('live-1'))),
      stress(() => store.run('open', (tx) => tx.accounts.insert(wallet('shadow-1')))),
      store.run('open', (tx) => tx.accounts.insert(wallet('live-2'))),
      stress(() => store.run('open', (tx) => tx.accounts.insert(wallet('shadow-2')))),
    ]);
    expect(await ownersIn('accounts')).toEqual(['live-1', 'live-2']);
    expect(await ownersIn('shadow_accounts')).toEqual(['shadow-1', 'shadow-2']);
    expect(store.batchingStats()).toMatchObject({
      batchesCommitted: 2,
      unitsCommittedInBatches: 4,
    });
  });

  it('lets consistent-snapshot units and operations not named bypass the batches', async () => {
    const named = new MysqlCellStore(shard.pool, undefined, {
      ...mysqlCellStoreOptionsDefault,
      batching: { ...batchEverything, operations: new Set(['payment.pay']), batchWaitMsMax: 50 },
    });
    await Promise.all([
      named.run('account.open', (tx) => tx.accounts.insert(wallet('x'))),
      named.run('account.open', (tx) => tx.accounts.insert(wallet('y'))),
      named.run('payment.pay', async (tx) => tx.accounts.findById('none'), {
        consistentSnapshot: true,
      }),
    ]);
    expect(named.batchingStats()).toEqual({
      batchesCommitted: 0,
      unitsCommittedInBatches: 0,
      batchesAbandoned: 0,
      unitsRunAlone: 0,
    });
    expect(await ownersIn('accounts')).toEqual(['x', 'y']);
  });
});
