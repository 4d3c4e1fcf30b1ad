import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';
import type { RowDataPacket } from 'mysql2/promise';

import { AccountService } from '@cellpay/cell-account';
import {
  type CellPersistenceOptions,
  MysqlCellStore,
  shadowSchemaDifferences,
  shadowTables,
} from '@cellpay/cell-data-access';
import { ManualClock, SequenceIdGenerator } from '@cellpay/cell-domain';
import { createTestShard, type TestShard } from '@cellpay/cell-testing';
import { CellModule } from '@cellpay/cell-runtime';
import { settlementTableSet } from '@cellpay/settlement-cell';
import { pollUntil, readInfraEndpoints } from '@cellpay/testing';
import { runInRequestContext } from '@cellpay/observability';

import { migrateShardTableSets, shadowTablePairs } from '../shadow/shard-tables';
import { reconcileCommand } from './reconcile.command';
import {
  parseShadowCleanArguments,
  shadowCleanCommand,
  shadowCleanLimits,
} from './shadow-clean.command';

describe('the cell shadow commands on real MariaDB', () => {
  let shard: TestShard;
  let persistence: CellPersistenceOptions;

  beforeAll(async () => {
    shard = await createTestShard(async (pool) => {
      await migrateShardTableSets(pool);
    });
    persistence = {
      unitOfWork: new MysqlCellStore(shard.pool),
      clock: new ManualClock(),
      idGenerator: new SequenceIdGenerator('S'),
      glPostingSwitch: { isGlPostingDeferred: () => false },
      settings: { cellId: 'cell-1', slotCount: 100 },
    };
    const context = await NestFactory.createApplicationContext(CellModule.register(persistence), {
      logger: false,
    });
    const accounts = context.get(AccountService);
    // A live book and a shadow book, each of a bank and a wallet with one top-up.
    const fundedWallet = async (ownerId: string, amountMinor: string): Promise<void> => {
      const open = async (kind: string, owner: string): Promise<string> =>
        (await accounts.openAccount({ kind, ownerId: owner, currency: 'USD' })).accountId;
      await accounts.topUp({
        clientId: 'c',
        requestId: ownerId,
        fromAccountId: await open('external_funding', 'bank'),
        toAccountId: await open('user_wallet', ownerId),
        amountMinor,
        currency: 'USD',
      });
    };
    await fundedWallet('live-user', '100');
    await runInRequestContext({ requestId: 'req-stress-setup', stress: true }, () =>
      fundedWallet('shadow-user', '700'),
    );
    await context.close();
  });
  afterAll(async () => {
    await shard.drop();
  });

  async function reconcile(
    shadow: boolean,
  ): Promise<{ code: number; report: Record<string, unknown> }> {
    let output = '';
    const code = await reconcileCommand(persistence, (text) => (output += text), { shadow });
    return { code, report: JSON.parse(output) as Record<string, unknown> };
  }

  it('migrates every shadow table with exactly its live table definition, and notices drift', async () => {
    expect(await migrateShardTableSets(shard.pool)).toEqual({
      cell: [],
      cellShadow: [],
      settlement: [],
      settlementShadow: [],
    });
    const pairs = shadowTablePairs();
    expect(pairs).toHaveLength(15);
    expect(await shadowSchemaDifferences(shard.pool, pairs)).toEqual([]);
    // A column added to one side only is a difference, named by table.
    await shard.pool.query('ALTER TABLE shadow_holds ADD COLUMN note VARCHAR(8) NULL');
    try {
      const drift = await shadowSchemaDifferences(shard.pool, pairs);
      expect(drift.map((difference) => difference.pair.shadow)).toEqual(['shadow_holds']);
      expect(drift[0]?.detail).toContain('`note`');
    } finally {
      await shard.pool.query('ALTER TABLE shadow_holds DROP COLUMN note');
    }
  });

  it('reconciles the live and the shadow books apart, by the same rules', async () => {
    const live = await reconcile(false);
    const shadow = await reconcile(true);
    expect(live).toMatchObject({ code: 0, report: { clean: true, accountsChecked: 2 } });
    expect(shadow).toMatchObject({ code: 0, report: { clean: true, accountsChecked: 2 } });
    // A shadow difference shows in the shadow report only, down to the account.
    await shard.pool.query(
      "UPDATE shadow_accounts SET balance_minor = balance_minor + 5 WHERE owner_id = 'shadow-user'",
    );
    try {
      const broken = await reconcile(true);
      expect(broken.code).toBe(1);
      expect(broken.report['differences']).toEqual([
        expect.objectContaining({ rule: 'account_balance_equals_journals', differenceMinor: '5' }),
      ]);
      expect(await reconcile(false)).toMatchObject({ code: 0, report: { clean: true } });
    } finally {
      await shard.pool.query(
        "UPDATE shadow_accounts SET balance_minor = balance_minor - 5 WHERE owner_id = 'shadow-user'",
      );
    }
  });

  const shardTarget = () => {
    const infra = readInfraEndpoints();
    const cell = infra.cells[0];
    if (cell === undefined) throw new Error('the infrastructure has no cells');
    return { ...infra.mysql, port: cell.primary.port, database: shard.database };
  };
  const count = async (table: string): Promise<number> => {
    const [rows] = await shard.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
    return Number(rows[0]?.['n']);
  };
  const shadowOutbox = settlementTableSet('shadow_').outbox;
  const addShadowOutboxRow = async (eventId: string): Promise<void> => {
    await shard.pool.query(
      `INSERT INTO ${shadowOutbox} (event_id, event_type, destination_cell_id, event_json, created_at_ms)
       VALUES (?, 'debit_applied', 'cell-2', '{}', ?)`,
      [eventId, Date.now()],
    );
  };

  it('refuses to clean while the shadow outbox holds unpublished rows, and removes nothing', async () => {
    const target = shardTarget();
    await addShadowOutboxRow('evt-unpublished');
    let output = '';
    try {
      const code = await shadowCleanCommand(
        { shard: target, confirm: shard.database, drainWaitMs: 300, pollIntervalMs: 50 },
        (text) => (output += text),
      );

      expect(code).toBe(1);
      expect(output).toContain(
        `refused: 1 shadow outbox rows of ${shard.database} are still unpublished after 0.3 s; nothing removed`,
      );
      expect(await count(shadowOutbox)).toBe(1);
      expect(await count(shadowTables.accounts)).toBe(2);
      // The listing without confirmation names the unpublished rows too.
      expect(
        await shadowCleanCommand({ shard: target, confirm: undefined }, (text) => (output += text)),
      ).toBe(2);
      expect(output).toContain('unpublished shadow outbox rows: 1');
    } finally {
      await shard.pool.query(`DELETE FROM ${shadowOutbox} WHERE event_id = 'evt-unpublished'`);
    }
  });

  it('cleans the shadow tables only after confirmation, and never a live table', async () => {
    const target = shardTarget();
    let output = '';
    const write = (text: string): void => {
      output += text;
    };
    expect(await shadowCleanCommand({ shard: target, confirm: undefined }, write)).toBe(2);
    expect(await shadowCleanCommand({ shard: target, confirm: 'another_db' }, write)).toBe(2);
    expect(output).toContain(`${shadowTables.accounts}: 2 rows`);
    expect(await count(shadowTables.accounts)).toBe(2);

    expect(await shadowCleanCommand({ shard: target, confirm: shard.database }, write)).toBe(0);
    for (const pair of shadowTablePairs()) expect(await count(pair.shadow)).toBe(0);
    expect(await count('accounts')).toBe(2);
    expect(await count('journals')).toBe(1);
    expect(await reconcile(false)).toMatchObject({ code: 0, report: { clean: true } });
    expect(await reconcile(true)).toMatchObject({ code: 0, report: { accountsChecked: 0 } });
    // The migration history stays: the shadow tables are still at the current version.
    expect(await migrateShardTableSets(shard.pool)).toMatchObject({ cellShadow: [] });
  });

  it('waits for the relay to publish the shadow outbox, then cleans', async () => {
    const target = shardTarget();
    await addShadowOutboxRow('evt-draining');
    let output = '';
    // The relay's part, played by the test: the row is published while the command waits.
    const publishing = pollUntil(() => output.includes('waiting up to'), {
      description: 'the command waits for the outbox',
    }).then(() =>
      shard.pool.query(
        `UPDATE ${shadowOutbox} SET published = 1, published_at = CURRENT_TIMESTAMP(3) WHERE event_id = 'evt-draining'`,
      ),
    );
    const code = await shadowCleanCommand(
      { shard: target, confirm: shard.database, drainWaitMs: 20_000, pollIntervalMs: 50 },
      (text) => (output += text),
    );
    await publishing;

    expect(code).toBe(0);
    expect(output).toContain(
      `waiting up to 20 s for the relay to publish 1 shadow outbox rows of ${shard.database}`,
    );
    expect(output).toContain(`emptied the shadow tables of ${shard.database}`);
    expect(await count(shadowOutbox)).toBe(0);
    expect(await count('accounts')).toBe(2);
  });

  it('parses its arguments strictly', () => {
    const waitDefault = shadowCleanLimits.drainWaitSecondsDefault;
    expect(parseShadowCleanArguments([])).toEqual({
      confirm: undefined,
      drainWaitSeconds: waitDefault,
    });
    expect(parseShadowCleanArguments(['--confirm', 'db'])).toEqual({
      confirm: 'db',
      drainWaitSeconds: waitDefault,
    });
    expect(parseShadowCleanArguments(['--wait-seconds', '0', '--confirm', 'db'])).toEqual({
      confirm: 'db',
      drainWaitSeconds: 0,
    });
    expect(parseShadowCleanArguments(['--yes'])).toHaveProperty('error');
    expect(parseShadowCleanArguments(['--confirm'])).toHaveProperty('error');
    expect(parseShadowCleanArguments(['--confirm', 'a', '--confirm', 'b'])).toHaveProperty('error');
    for (const bad of ['-1', '1.5', 'x', String(shadowCleanLimits.drainWaitSecondsMax + 1)]) {
      expect(parseShadowCleanArguments(['--wait-seconds', bad])).toHaveProperty('error');
    }
  });
});
