import type { Admin } from 'kafkajs';
import type { Pool } from 'mysql2/promise';

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createKafka, createMysqlPool } from '@cellpay/connections';
import { migrateSettlementShard } from '@cellpay/settlement-cell';
import { ensureSettlementTopics } from '@cellpay/settlement-messaging';
import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { runCellctl } from './cellctl';
import type { Terminal } from './terminal';

/** Drives the real CLI code against real MariaDB, Redis and Kafka, capturing what it prints. */
describe('cellctl against the real global zone', () => {
  const infra = readInfraEndpoints();
  const database = uniqueName('cellctl');
  const topicPrefix = uniqueName('ctl');
  let admin: Pool;
  let kafkaAdmin: Admin;
  const env = {
    CELLPAY_GLOBAL_MYSQL_URL: `mysql://${infra.mysql.user}:${infra.mysql.password}@${infra.mysql.host}:${infra.global.port}/${database}`,
    CELLPAY_REDIS_URL: `redis://${infra.redis.host}:${infra.redis.port}`,
    CELLPAY_KAFKA_BROKERS: infra.kafka.brokers.join(','),
    CELLPAY_REDIS_PREFIX: uniqueName('ctl'),
    CELLPAY_KAFKA_TOPIC_PREFIX: topicPrefix,
    CELLPAY_CREDENTIAL_KEK: Buffer.alloc(32, 7).toString('base64'),
    CELLPAY_ACTOR: 'sre-on-call',
  };

  async function cellctl(args: string[], answer = false, extraEnv: Record<string, string> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const terminal: Terminal = {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      confirm: async () => answer,
    };
    const code = await runCellctl(args, terminal, { ...env, ...extraEnv });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  beforeAll(async () => {
    admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${database}\``);
    kafkaAdmin = createKafka({ brokers: infra.kafka.brokers, clientId: 'cellctl-test' }).admin();
    await kafkaAdmin.connect();
  });

  afterAll(async () => {
    await kafkaAdmin.disconnect();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  it('migrates the global schema and writes the first routing table', async () => {
    expect(await cellctl(['migrate-global'])).toMatchObject({
      code: 0,
      out: 'applied: 1,2; already: none',
    });
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
    expect(init.out).toContain('routing table written at epoch 1');
    const show = await cellctl(['routes']);
    expect(show.out).toMatch(/^cell-1\s+active\s+region-a\s+region-b\s+region-a\s+5: 0-4\s+-$/m);
    expect(show.out).toMatch(/^cell-2\s+active\s+region-b\s+region-a\s+region-b\s+5: 5-9\s+-$/m);
    const json = JSON.parse((await cellctl(['routes', '--json'])).out) as { epoch: string };
    expect(json.epoch).toBe('1');
  });

  it('changes nothing when a mutating command is not confirmed', async () => {
    const refused = await cellctl(['switch', 'set', 'stress_traffic_rejected', 'true']);
    expect(refused.code).toBe(0);
    expect(refused.err).toContain('not confirmed; nothing changed');
    expect((await cellctl(['switch', 'list', '--json'])).out).toContain(
      '"stressTrafficRejected": false',
    );
  });

  it('sets a switch when confirmed and audits who did it', async () => {
    const set = await cellctl(['switch', 'set', 'merchant_rate_caps', '{"merchant-1": 500}'], true);
    expect(set.code).toBe(0);
    expect(set.out).toContain('merchant_rate_caps: {} -> {"merchant-1":500}');
    const list = await cellctl(['switch', 'list']);
    expect(list.out).toMatch(/^merchant_rate_caps\s+\{"merchant-1":500\}/m);
    const audit = await cellctl(['audit', '--limit', '5']);
    expect(audit.out).toMatch(/sre-on-call\s+switch\.set\s+merchant_rate_caps/);
    expect(audit.out).toMatch(/sre-on-call\s+routing\.initialize\s+routing/);
  });

  it('refuses bad values, unknown switches and bad usage with a clear message', async () => {
    expect(await cellctl(['switch', 'set', 'gl_posting_deferred', 'yes', '--yes'])).toMatchObject({
      code: 1,
      err: expect.stringContaining('the value must be JSON'),
    });
    expect(await cellctl(['switch', 'set', 'warp_speed', 'true', '--yes'])).toMatchObject({
      code: 1,
      err: expect.stringContaining('unknown switch warp_speed'),
    });
    expect((await cellctl(['routes', 'init'])).code).toBe(2);
    expect((await cellctl(['no-such-command'])).code).toBe(2);
  });

  it('creates a credential, printing the secret once, audited without the secret', async () => {
    expect((await cellctl(['merchant-register', 'merchant-1', 'Merchant One'])).code).toBe(0);
    const created = await cellctl([
      'credential-create',
      '--owner',
      'merchant-1',
      '--scopes',
      'pay,read',
    ]);
    expect(created.code).toBe(0);
    const secret = /secret: (\S+)/.exec(created.out)?.[1] ?? '';
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [rows] = await admin.query(
      `SELECT after_json FROM \`${database}\`.audit_log WHERE action = 'credential.create'`,
    );
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('lists an empty dead-letter queue', async () => {
    await ensureSettlementTopics(kafkaAdmin, ['cell-2'], topicPrefix);
    expect(await cellctl(['dlq', 'list', '--cell', 'cell-2'])).toMatchObject({
      code: 0,
      out: '0 dead letter(s) waiting in cell-2',
    });
    expect((await cellctl(['dlq', 'list', '--cell', 'cell-two'])).err).toContain(
      '--cell takes a cell ID',
    );
  });

  it('shows each cell with its replica, its unsent settlement events and the breaker', async () => {
    const cell = infra.cells[0];
    if (cell === undefined) throw new Error('the infrastructure has no cell');
    const { user, password, host } = infra.mysql;
    const shardDatabase = uniqueName('ctl_shard');
    const shardServer = { ...infra.mysql, port: cell.primary.port };
    const shardAdmin = createMysqlPool(shardServer);
    // A gateway's ops server, as far as status reads it.
    const gatewayOps: Server = createServer((_request, response) => {
      response.end('cellpay_circuit_breaker_state{cell="cell-2"} 2\n');
    });
    await new Promise<void>((resolve) => gatewayOps.listen(0, '127.0.0.1', resolve));
    try {
      await shardAdmin.query(`CREATE DATABASE \`${shardDatabase}\``);
      const shard = createMysqlPool({ ...shardServer, database: shardDatabase });
      try {
        await migrateSettlementShard(shard);
        const createdAtMs = Date.now() - 5_000;
        for (const n of [1, 2]) {
          await shard.query(
            `INSERT INTO settlement_outbox (event_id, event_type, destination_cell_id, event_json,
               created_at_ms) VALUES (?, 'credit_requested', 'cell-2', '{}', ?)`,
            [`status-event-${n}`, createdAtMs],
          );
        }
      } finally {
        await shard.end();
      }
      const result = await cellctl(['status', '--json'], false, {
        CELLPAY_CELL_SHARDS: `cell-1=mysql://${user}:${password}@${host}:${cell.primary.port}/${shardDatabase}`,
        CELLPAY_CELL_REPLICAS: `cell-1=mysql://${user}:${password}@${host}:${cell.replica.port}/${shardDatabase}`,
        CELLPAY_GATEWAY_OPS: `127.0.0.1:${(gatewayOps.address() as AddressInfo).port}`,
      });
      expect(result).toMatchObject({ code: 0, err: '' });
      const status = JSON.parse(result.out) as {
        epoch: string;
        cells: { cellId: string; replica: unknown; outbox: unknown; breaker: string }[];
      };
      const [one, two] = status.cells;
      expect(one).toMatchObject({
        cellId: 'cell-1',
        replica: { ok: true, value: { replicating: true, sourcePort: cell.primary.port } },
        outbox: { ok: true, value: { depth: 2 } },
        breaker: 'closed (no calls yet)',
      });
      const oldest = (one?.outbox as { value: { oldestAgeSeconds: number } }).value;
      expect(oldest.oldestAgeSeconds).toBeGreaterThanOrEqual(5);
      // cell-2 has no shard configured: said so, and its breaker is open at the gateway.
      expect(two).toMatchObject({
        cellId: 'cell-2',
        outbox: { ok: false, why: 'not configured' },
        breaker: 'open',
      });
      const table = (
        await cellctl(['status'], false, {
          CELLPAY_GATEWAY_OPS: '127.0.0.1:1',
        })
      ).out;
      expect(table).toMatch(/^routing epoch \d+, 10 slots/m);
      expect(table).toMatch(/^cell-2\s+active\s+region-b .*\? \(fetch failed\)$/m);
    } finally {
      gatewayOps.close();
      await shardAdmin.query(`DROP DATABASE IF EXISTS \`${shardDatabase}\``);
      await shardAdmin.end();
    }
  });
});
