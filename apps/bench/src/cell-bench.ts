import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Pool, PoolConnection } from 'mysql2/promise';

import { infraStateDir, readInfraEndpoints } from '@cellpay/config';
import {
  liveTables,
  migrateCellShard,
  type CommitBatcherStats,
  type MysqlCommitBatching,
  MysqlCellStore,
  mysqlCellStoreOptionsDefault,
  RandomIdGenerator,
  SystemClock,
} from '@cellpay/cell-data-access';
import { startCellContext, type CellContext } from '@cellpay/cell-runtime';
import { createMysqlPool } from '@cellpay/connections';

import { type RunBounds, type RunResult, runWorkers } from './measure';
import { mintedIds, RecordingPool, replayable, type RecordedStatement } from './recording-pool';

export interface CellBenchOptions extends RunBounds {
  readonly payers: number;
  readonly merchants: number;
  /** Share of payments going to merchant 0 (0 for an even spread). */
  readonly hotMerchantShare: number;
  /** Commit batching of the cell's store; absent, one transaction per payment. */
  readonly batching?: MysqlCommitBatching;
}

interface BenchShard {
  readonly pool: Pool;
  readonly cell: CellContext;
  readonly store: MysqlCellStore;
  readonly payerIds: readonly string[];
  readonly merchantIds: readonly string[];
  close(): Promise<void>;
}

const currency = 'CNY';

function shardEndpoint() {
  const infra = readInfraEndpoints();
  const cell = infra.cells[0];
  if (cell === undefined)
    throw new Error('the local infrastructure has no cells (npm run infra:up)');
  return {
    endpoint: { ...infra.mysql, port: cell.primary.port },
    pidFile: join(infraStateDir(), 'mysql', 'cell-1-primary', 'mysqld.pid'),
  };
}

export function shardServerPid(): number {
  return Number(readFileSync(shardEndpoint().pidFile, 'utf8').trim());
}

/** A throwaway database on cell 1's primary, migrated, with funded payers and merchants. */
async function openBenchShard(
  name: string,
  options: CellBenchOptions,
  wrap?: (pool: Pool) => Pool,
): Promise<BenchShard> {
  const { endpoint } = shardEndpoint();
  const admin = createMysqlPool(endpoint);
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.end();
  const pool = createMysqlPool(
    { ...endpoint, database: name },
    {
      connectionsMax: Math.max(8, options.concurrency),
      queuedRequestsMax: 10_000,
      connectTimeoutMs: 5_000,
    },
  );
  await migrateCellShard(pool, liveTables);
  const clock = new SystemClock();
  const store = new MysqlCellStore(wrap ? wrap(pool) : pool, undefined, {
    ...mysqlCellStoreOptionsDefault,
    ...(options.batching === undefined ? {} : { batching: options.batching }),
  });
  const cell = await startCellContext({
    unitOfWork: store,
    clock,
    idGenerator: new RandomIdGenerator(clock),
    glPostingSwitch: { isGlPostingDeferred: () => false },
    settings: { cellId: 'cell-1', slotCount: 100 },
  });
  const funding = await cell.accounts.openAccount({
    kind: 'external_funding',
    ownerId: 'bench-funding',
    currency,
  });
  const merchantIds = Array.from({ length: options.merchants }, (_, i) => `bench-merchant-${i}`);
  for (const merchantId of merchantIds)
    await cell.accounts.openAccount({ kind: 'merchant', ownerId: merchantId, currency });
  const payerIds: string[] = [];
  for (let i = 0; i < options.payers; i++) {
    const wallet = await cell.accounts.openAccount({
      kind: 'user_wallet',
      ownerId: `bench-payer-${i}`,
      currency,
    });
    await cell.accounts.topUp({
      clientId: 'bench',
      requestId: `fund-${i}`,
      fromAccountId: funding.accountId,
      toAccountId: wallet.accountId,
      amountMinor: '100000000',
      currency,
    });
    payerIds.push(wallet.accountId);
  }
  return {
    pool,
    cell,
    store,
    payerIds,
    merchantIds,
    close: async () => {
      await cell.close();
      await pool.query(`DROP DATABASE \`${name}\``);
      await pool.end();
    },
  };
}

function merchantFor(
  index: number,
  options: CellBenchOptions,
  merchantIds: readonly string[],
): string {
  // A fixed interleave rather than a random draw: the same run has the same mix every time.
  const hot =
    options.hotMerchantShare > 0 &&
    (index * options.hotMerchantShare) % 1 < options.hotMerchantShare;
  return hot ? (merchantIds[0] ?? '') : (merchantIds[index % merchantIds.length] ?? '');
}

/** Same-cell payments through the cell's payment service on MySQL, in-process (no network hop). */
export async function benchCellPayments(
  options: CellBenchOptions,
): Promise<RunResult & { batching: CommitBatcherStats }> {
  const shard = await openBenchShard(`bench_cell_${process.pid}`, options);
  try {
    const setUp = shard.store.batchingStats();
    const result = await runWorkers(options, [shardServerPid()], async (index) => {
      await shard.cell.payments.pay({
        merchantId: merchantFor(index, options, shard.merchantIds),
        outTradeNo: `bench-${index}`,
        payerAccountId: shard.payerIds[index % shard.payerIds.length] ?? '',
        amountMinor: '1',
        currency,
      });
    });
    const after = shard.store.batchingStats();
    return {
      ...result,
      batching: {
        batchesCommitted: after.batchesCommitted - setUp.batchesCommitted,
        unitsCommittedInBatches: after.unitsCommittedInBatches - setUp.unitsCommittedInBatches,
        batchesAbandoned: after.batchesAbandoned - setUp.batchesAbandoned,
        unitsRunAlone: after.unitsRunAlone - setUp.unitsRunAlone,
      },
    };
  } finally {
    await shard.close();
  }
}

/**
 * The reference: plain mysql2, one transaction per payment, sending exactly the statements a real
 * payment sent (captured from the cell once per payer), with fresh IDs each time.
 */
export async function benchReference(
  options: CellBenchOptions,
): Promise<RunResult & { statementsPerPayment: number }> {
  let recorder: RecordingPool | undefined;
  const shard = await openBenchShard(`bench_ref_${process.pid}`, options, (pool) => {
    recorder = new RecordingPool(pool);
    return recorder.pool;
  });
  if (recorder === undefined) throw new Error('recording pool missing');
  try {
    const templates: ((suffix: string) => RecordedStatement[])[] = [];
    for (let i = 0; i < shard.payerIds.length; i++) {
      const outTradeNo = `benchrec${i}`;
      const { statements } = await recorder.record(() =>
        shard.cell.payments.pay({
          merchantId: merchantFor(i, options, shard.merchantIds),
          outTradeNo,
          payerAccountId: shard.payerIds[i] ?? '',
          amountMinor: '1',
          currency,
        }),
      );
      templates.push(replayable(statements, [outTradeNo, ...mintedIds(statements)]));
    }
    const statementsPerPayment = templates[0]?.('x').length ?? 0;
    // The session settings the store applies once per connection, applied the same way here.
    const prepared = new WeakSet<object>();
    const result = await runWorkers(options, [shardServerPid()], async (index) => {
      const template = templates[index % templates.length];
      if (template === undefined) return;
      const connection: PoolConnection = await shard.pool.getConnection();
      try {
        if (!prepared.has(connection.connection)) {
          await connection.query('SET SESSION innodb_lock_wait_timeout = 5');
          await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
          prepared.add(connection.connection);
        }
        for (const statement of template(index.toString(36).padStart(6, '0'))) {
          await connection.query(statement.sql, statement.values as never);
        }
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        connection.release();
      }
    });
    return { ...result, statementsPerPayment };
  } finally {
    await shard.close();
  }
}
