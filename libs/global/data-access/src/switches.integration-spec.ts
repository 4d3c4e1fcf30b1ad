import type Redis from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

import { applyMigrations, createMysqlPool, createRedis } from '@cellpay/connections';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { globalMigrations } from './global-schema';
import {
  createSwitchFollower,
  publishSwitches,
  switchRedisKeys,
  SwitchStore,
} from './switch-store';
import { SwitchError } from './switches';
import type { VersionedFollower } from './versioned-follower';

describe('degradation switches in the global zone, followed through Redis', () => {
  const infra = readInfraEndpoints();
  const database = uniqueName('switches');
  const keys = switchRedisKeys(uniqueName('sw'));
  let admin: Pool;
  let pool: Pool;
  let store: SwitchStore;
  const clients: Redis[] = [];
  const followers: VersionedFollower<unknown>[] = [];

  const redis = (): Redis => {
    const client = createRedis(infra.redis);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${database}\``);
    pool = createMysqlPool({ ...infra.mysql, port: infra.global.port, database });
    await applyMigrations(pool, globalMigrations, database);
    store = new SwitchStore(pool);
  });

  afterAll(async () => {
    await Promise.all(followers.map((f) => f.stop()));
    await redis().del(keys.document, keys.version);
    for (const client of clients) client.disconnect();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  it('starts with every switch at its default', async () => {
    expect(await store.load()).toEqual({
      version: 0n,
      value: {
        glPostingDeferred: false,
        stressTrafficRejected: false,
        crossCellPaymentsPaused: false,
        merchantRateCaps: {},
      },
    });
  });

  it('a flipped switch reaches every process within a second, audited', async () => {
    const processes = [];
    for (let i = 0; i < 3; i++) {
      const follower = createSwitchFollower(store, redis(), redis(), {
        keys,
        redisPollIntervalMs: 200,
        databasePollIntervalMs: 60_000,
      });
      followers.push(follower as VersionedFollower<unknown>);
      await follower.start();
      processes.push(follower);
    }
    const flippedAt = Date.now();
    const document = await store.set('stress_traffic_rejected', true, 'sre@example');
    await publishSwitches(redis(), keys, document);
    for (const follower of processes) {
      await pollUntil(() => follower.current().value.stressTrafficRejected, {
        timeoutMs: 1_000,
        intervalMs: 5,
      });
    }
    expect(Date.now() - flippedAt).toBeLessThan(1_000);

    const [audit] = await pool.query<RowDataPacket[]>(
      "SELECT actor, subject, before_json, after_json FROM audit_log WHERE action = 'switch.set'",
    );
    expect(audit).toEqual([
      {
        actor: 'sre@example',
        subject: 'stress_traffic_rejected',
        before_json: null,
        after_json: 'true',
      },
    ]);
  });

  it.each([
    ['an unknown switch', 'make_it_fast', true, /unknown switch make_it_fast/],
    ['a boolean switch given a string', 'gl_posting_deferred', 'yes', /takes true or false/],
    ['a negative merchant cap', 'merchant_rate_caps', { 'merchant-1': -5 }, /must be an integer/],
    ['a malformed merchant ID', 'merchant_rate_caps', { 'bad id!': 5 }, /malformed/],
  ])('refuses %s and changes nothing', async (_name, name, value, message) => {
    const before = await store.load();
    await expect(store.set(name, value, 'sre')).rejects.toThrow(SwitchError);
    await expect(store.set(name, value, 'sre')).rejects.toThrow(message);
    expect(await store.load()).toEqual(before);
  });
});
