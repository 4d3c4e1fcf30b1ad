import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Pool, RowDataPacket } from 'mysql2/promise';

import { createMysqlPool } from '@cellpay/connections';
import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { runCellctl } from '../cellctl';
import type { Terminal } from '../terminal';

const repositoryRoot = join(__dirname, '..', '..', '..', '..');
const cellEntry = join(repositoryRoot, 'dist', 'apps', 'cell', 'main.js');

/**
 * The command line of a slot migration against real shards: its refusals, the confirmation, and
 * a completed move with the JSON summary and the audit record. The money paths under load are
 * the library's integration test (libs/control-plane/migration).
 */
describe('cellctl migrate-slots', () => {
  const infra = readInfraEndpoints();
  const globalDatabase = uniqueName('ctl_mig_global');
  const cellDatabase = uniqueName('ctl_mig_cell');
  const url = (port: number, database: string) =>
    `mysql://${infra.mysql.user}:${infra.mysql.password}@${infra.mysql.host}:${port}/${database}`;
  const primaries = ['cell-1', 'cell-2'].map((cellId, index) => {
    const primary = infra.cells[index]?.primary;
    if (primary === undefined) throw new Error(`the infrastructure has no ${cellId}`);
    return { cellId, port: primary.port };
  });
  const env = {
    CELLPAY_GLOBAL_MYSQL_URL: url(infra.global.port, globalDatabase),
    CELLPAY_REDIS_URL: `redis://${infra.redis.host}:${infra.redis.port}`,
    CELLPAY_KAFKA_BROKERS: infra.kafka.brokers.join(','),
    CELLPAY_REDIS_PREFIX: uniqueName('ctlmig'),
    CELLPAY_ACTOR: 'sre-on-call',
    CELLPAY_CELL_SHARDS: primaries
      .map(({ cellId, port }) => `${cellId}=${url(port, cellDatabase)}`)
      .join(','),
  };
  const shards = new Map<string, Pool>();
  const accountId = `acc_0001${'c'.repeat(24)}`;

  async function cellctl(args: string[], environment: NodeJS.ProcessEnv = env) {
    const out: string[] = [];
    const err: string[] = [];
    const terminal: Terminal = {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      confirm: async () => false,
    };
    const code = await runCellctl(args, terminal, environment);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  async function accountsIn(cellId: string): Promise<string[]> {
    const [found] = await (shards.get(cellId) as Pool).query<RowDataPacket[]>(
      'SELECT id FROM accounts ORDER BY id',
    );
    return found.map((row) => String(row['id']));
  }

  beforeAll(async () => {
    const admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${globalDatabase}\``);
    await admin.end();
    if (!existsSync(cellEntry)) {
      execFileSync(process.execPath, ['tools/scripts/build-app.mjs', 'apps/cell'], {
        cwd: repositoryRoot,
        stdio: 'inherit',
      });
    }
    for (const { cellId, port } of primaries) {
      const cellAdmin = createMysqlPool({ ...infra.mysql, port });
      await cellAdmin.query(`CREATE DATABASE \`${cellDatabase}\``);
      await cellAdmin.end();
      // The shard schema comes from the cell's own migrator, never from a copy of it.
      execFileSync(process.execPath, [cellEntry, 'migrate'], {
        env: {
          ...process.env,
          CELLPAY_CELL_ID: cellId,
          CELLPAY_MYSQL_URL: url(port, cellDatabase),
        },
        stdio: 'pipe',
      });
      shards.set(cellId, createMysqlPool({ ...infra.mysql, port, database: cellDatabase }));
    }
    await (shards.get('cell-1') as Pool).query(
      `INSERT INTO accounts (id, kind, owner_id, currency, allow_negative, balance_minor, held_minor, created_at)
       VALUES (?, 'user_wallet', 'cli-user', 'CNY', 0, 0, 0, UTC_TIMESTAMP(3))`,
      [accountId],
    );
    expect((await cellctl(['migrate-global'])).code).toBe(0);
    const init = await cellctl([
      'routes',
      'init',
      '--cells',
      'cell-1:region-a:region-b,cell-2:region-b:region-a',
      '--slot-count',
      '10',
      '--yes',
    ]);
    expect(init.code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const pool of shards.values()) {
      await pool.query(`DROP DATABASE IF EXISTS \`${cellDatabase}\``);
      await pool.end();
    }
    const admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`DROP DATABASE IF EXISTS \`${globalDatabase}\``);
    await admin.end();
  });

  it('refuses bad input and missing settings before touching anything', async () => {
    expect(await cellctl(['migrate-slots', '1,x', '--to', 'cell-2', '--yes'])).toMatchObject({
      code: 1,
      err: expect.stringContaining("slots must be comma-separated numbers, got '1,x'"),
    });
    const { CELLPAY_CELL_SHARDS: _urls, ...withoutShards } = env;
    expect(
      await cellctl(['migrate-slots', '1', '--to', 'cell-2', '--yes'], withoutShards),
    ).toMatchObject({ code: 1, err: expect.stringContaining('set CELLPAY_CELL_SHARDS') });
    expect(await cellctl(['migrate-slots', '1', '--to', 'cell-2', '--yes'])).toMatchObject({
      code: 1,
      err: expect.stringContaining('set CELLPAY_CELL_ADDRESSES'),
    });
    expect(
      await cellctl(['migrate-slots', '1', '--to', 'cell-2', '--yes', '--skip-reconcile']),
    ).toMatchObject({ code: 1, err: expect.stringContaining('set CELLPAY_CELL_OPS_ADDRESSES') });
    expect(
      await cellctl([
        'migrate-slots',
        '1,7',
        '--to',
        'cell-2',
        '--yes',
        '--skip-reconcile',
        '--skip-epoch-check',
      ]),
    ).toMatchObject({ code: 1, err: expect.stringContaining('slot_not_owned_by_source') });
    expect(await accountsIn('cell-1')).toEqual([accountId]);
  });

  it('changes nothing unless confirmed', async () => {
    const refused = await cellctl([
      'migrate-slots',
      '1',
      '--to',
      'cell-2',
      '--skip-reconcile',
      '--skip-epoch-check',
    ]);
    expect(refused.code).toBe(0);
    expect(refused.out).toMatch(/move slots 1 from cell-1 to cell-2 \(routing epoch 1, mig_/);
    expect(refused.out).toMatch(/^accounts\s+1$/m);
    expect(refused.err).toContain('not confirmed; nothing changed');
    expect((await cellctl(['routes'])).out).toContain('epoch 1,');
  });

  it('moves a slot with --yes, prints the summary and leaves an audit record', async () => {
    const moved = await cellctl([
      'migrate-slots',
      '1',
      '--to',
      'cell-2',
      '--yes',
      '--skip-reconcile',
      '--skip-epoch-check',
    ]);
    expect(moved.code).toBe(0);
    expect(moved.err).toMatch(/flip done/);
    const summary = JSON.parse(moved.out.slice(moved.out.indexOf('{'))) as {
      outcome: string;
      epochs: { before: string; frozen: string; after: string };
      verification: { ok: boolean; tables: Record<string, { sourceRows: number }> };
    };
    expect(summary.outcome).toBe('completed');
    expect(summary.epochs).toEqual({ before: '1', frozen: '2', after: '3' });
    expect(summary.verification.ok).toBe(true);
    expect(summary.verification.tables['accounts']?.sourceRows).toBe(1);
    expect(await accountsIn('cell-2')).toEqual([accountId]);
    const routes = JSON.parse((await cellctl(['routes', '--json'])).out) as {
      slots: { slot: number; cellId: string; state: string }[];
    };
    expect(routes.slots.find((route) => route.slot === 1)).toEqual({
      slot: 1,
      cellId: 'cell-2',
      state: 'active',
    });
    const audit = await cellctl(['audit', '--limit', '3']);
    expect(audit.out).toMatch(/sre-on-call\s+slots\.migrate\.completed\s+1:cell-1->cell-2/);
    expect(audit.out).toMatch(/slots\.move/);
    expect(audit.out).toMatch(/slots\.freeze/);
  });
});
