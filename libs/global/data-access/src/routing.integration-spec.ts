import type Redis from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

import { applyMigrations, createMysqlPool, createRedis } from '@cellpay/connections';
import { evenlySpreadSnapshot, RoutingTable, type CellRoute } from '@cellpay/routing';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { globalMigrations } from './global-schema';
import {
  publishRoutingTable,
  routingCodec,
  RoutingFollower,
  routingRedisKeys,
} from './routing-follower';
import { RoutingStore } from './routing-store';

const cell = (cellId: string): CellRoute => ({
  cellId,
  homeRegion: 'region-a',
  standbyRegion: 'region-b',
  activeRegion: 'region-a',
  state: 'active',
});

describe('routing table in the global zone, followed through Redis', () => {
  const infra = readInfraEndpoints();
  const database = uniqueName('global');
  const keys = routingRedisKeys(uniqueName('test'));
  const followMs = 1_000;
  let admin: Pool;
  let pool: Pool;
  let store: RoutingStore;
  const clients: Redis[] = [];
  const followers: RoutingFollower[] = [];

  const redis = (): Redis => {
    const client = createRedis(infra.redis);
    clients.push(client);
    return client;
  };
  const follower = async (databasePollIntervalMs = 500): Promise<RoutingFollower> => {
    const created = new RoutingFollower(store, redis(), redis(), {
      keys,
      redisPollIntervalMs: 200,
      databasePollIntervalMs,
    });
    followers.push(created);
    await created.start();
    return created;
  };
  const change = { actor: 'test', action: 'test', subject: 'routing' };

  beforeAll(async () => {
    admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${database}\``);
    pool = createMysqlPool({ ...infra.mysql, port: infra.global.port, database });
    await applyMigrations(pool, globalMigrations, database);
    store = new RoutingStore(pool);
    await store.initialize(evenlySpreadSnapshot([cell('cell-1'), cell('cell-2')], 10), 'test');
  });

  afterAll(async () => {
    await Promise.all(followers.map((f) => f.stop()));
    const cleaner = redis();
    await cleaner.del(keys.document, keys.version);
    for (const client of clients) client.disconnect();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  it('commits a change with a new epoch and an audit record, refusing invalid tables', async () => {
    const table = await store.assignSlots([0, 1], 'cell-2', { ...change, action: 'slots.assign' });
    expect(table.epoch).toBe(2n);
    expect(table.ownsSlot('cell-2', 0)).toBe(true);
    await expect(store.assignSlots([0], 'cell-9', change)).rejects.toThrow(/unknown cell cell-9/);
    expect(await store.readEpoch()).toBe(2n);
    const [audit] = await pool.query<RowDataPacket[]>(
      "SELECT action, before_json, after_json FROM audit_log WHERE action = 'slots.assign'",
    );
    expect(audit).toHaveLength(1);
    expect(String(audit[0]?.['before_json'])).toContain('"epoch":"1"');
    expect(String(audit[0]?.['after_json'])).toContain('"epoch":"2"');
  });

  it('every follower sees a published change within a second', async () => {
    const [a, b] = [await follower(), await follower()];
    const start = a.current().epoch;
    const table = await store.setSlotState([3], 'frozen', change);
    await publishRoutingTable(redis(), keys, table);
    for (const f of [a, b]) {
      await pollUntil(() => f.current().epoch === table.epoch, {
        timeoutMs: followMs,
        intervalMs: 10,
      });
      expect(f.current().routeSlot(3).kind).toBe('frozen');
    }
    expect(table.epoch).toBe(start + 1n);
  });

  it('catches up through the epoch poll when the pub/sub message is lost', async () => {
    // The database poll is too slow to help here: only the Redis poll can deliver in time.
    const f = await follower(60_000);
    const table = await store.setSlotState([3], 'active', change);
    // Write the cache without PUBLISH, as if the message had been dropped.
    const cache = redis();
    const envelope = { version: table.epoch.toString(), value: routingCodec.serialize(table) };
    await cache.set(keys.document, JSON.stringify(envelope));
    await cache.set(keys.version, table.epoch.toString());
    await pollUntil(() => f.current().epoch === table.epoch, {
      timeoutMs: followMs,
      intervalMs: 10,
    });
  });

  it('catches up from the database, and repairs the cache, when Redis missed the change', async () => {
    const f = await follower();
    const table = await store.setOverride('vip-user', 'cell-1', change);
    await pollUntil(() => f.current().epoch === table.epoch, { timeoutMs: 2_000, intervalMs: 10 });
    expect(f.current().routeUser('vip-user').cellId).toBe('cell-1');
    expect(await redis().get(keys.version)).toBe(table.epoch.toString());
  });

  it('never lets an older table replace a newer one in the cache', async () => {
    const latest = await store.setOverride('someone', 'cell-2', change);
    expect(await publishRoutingTable(redis(), keys, latest)).toBe(true);
    const stale = new RoutingTable({ ...latest.snapshot, epoch: latest.epoch - 1n });
    expect(await publishRoutingTable(redis(), keys, stale)).toBe(false);
    expect(await publishRoutingTable(redis(), keys, latest)).toBe(false);
    expect(await redis().get(keys.version)).toBe(latest.epoch.toString());
  });
});
