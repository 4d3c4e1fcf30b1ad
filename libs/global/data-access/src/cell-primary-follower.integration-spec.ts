import type Redis from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

import { applyMigrations, createMysqlPool, createRedis } from '@cellpay/connections';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { followCellPrimary, type CellPrimaryFollowing } from './cell-primary-follower';
import { globalMigrations } from './global-schema';
import type { CellTopology } from './topology';
import { publishTopology, topologyRedisKeys, TopologyStore } from './topology-store';

/** The path both the cell and the relay use to reach their primary after a failover. */
describe('following a cell primary through the topology in the global zone', () => {
  const infra = readInfraEndpoints();
  const database = uniqueName('topology');
  const prefix = uniqueName('topo');
  const globalUrl = `mysql://${infra.mysql.user}:${infra.mysql.password}@${infra.mysql.host}:${infra.global.port}/${database}`;
  let admin: Pool;
  let pool: Pool;
  let redis: Redis;
  let store: TopologyStore;
  const following: CellPrimaryFollowing[] = [];

  const cell = (primaryRegion: string): CellTopology => ({
    cellId: 'cell-1',
    homeRegion: 'region-a',
    standbyRegion: 'region-b',
    primaryRegion,
    nodes: [
      { region: 'region-a', host: '127.0.0.1', port: 4411 },
      { region: 'region-b', host: '127.0.0.1', port: 4412 },
    ],
  });

  beforeAll(async () => {
    admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${database}\``);
    pool = createMysqlPool({ ...infra.mysql, port: infra.global.port, database });
    // The audit log comes with the global schema; the topology's own tables with migrate().
    await applyMigrations(pool, globalMigrations, database);
    store = new TopologyStore(pool);
    await store.migrate();
    redis = createRedis(infra.redis);
  });

  afterAll(async () => {
    for (const follow of following) await follow.close();
    const keys = topologyRedisKeys(prefix);
    await redis.del(keys.document, keys.version);
    redis.disconnect();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  it('refuses to start before a topology was loaded', async () => {
    await expect(
      followCellPrimary({
        cellId: 'cell-1',
        globalMysqlUrl: globalUrl,
        redisUrl: `redis://${infra.redis.host}:${infra.redis.port}`,
        redisPrefix: prefix,
        repoint: async () => true,
        onRepointed: () => undefined,
        onError: () => undefined,
      }),
    ).rejects.toThrow(/not initialised/);
  });

  it('starts on the primary, then repoints within a second of a recorded failover, audited', async () => {
    await store.replace([cell('region-a')], { actor: 't', action: 'topology.load', subject: 't' });
    const pointedAt: string[] = [];
    following.push(
      await followCellPrimary({
        cellId: 'cell-1',
        globalMysqlUrl: globalUrl,
        redisUrl: `redis://${infra.redis.host}:${infra.redis.port}`,
        redisPrefix: prefix,
        repoint: async (host, port) => {
          const target = `${host}:${port}`;
          if (pointedAt.at(-1) === target) return false;
          pointedAt.push(target);
          return true;
        },
        onRepointed: () => undefined,
        onError: (error) => {
          throw error;
        },
      }),
    );
    expect(pointedAt).toEqual(['127.0.0.1:4411']);
    const moved = await store.setPrimary('cell-1', 'region-b', {
      actor: 'sre',
      action: 'topology.set-primary',
      subject: 'cell-1',
    });
    expect(moved.version).toBe(2n);
    const publishedAt = Date.now();
    await publishTopology(redis, topologyRedisKeys(prefix), moved);
    await pollUntil(() => pointedAt.length === 2, {
      description: 'the follower repoints to region-b',
      timeoutMs: 1_000,
    });
    expect(pointedAt[1]).toBe('127.0.0.1:4412');
    expect(Date.now() - publishedAt).toBeLessThan(1_000);
    const [audit] = await pool.query<RowDataPacket[]>(
      "SELECT actor, before_json, after_json FROM audit_log WHERE action = 'topology.set-primary'",
    );
    expect(audit[0]?.['actor']).toBe('sre');
    expect(String(audit[0]?.['before_json'])).toMatch(/"primaryRegion":"region-a"/);
    expect(String(audit[0]?.['after_json'])).toMatch(/"primaryRegion":"region-b"/);
  });

  it('retries a failed repoint until it succeeds, without waiting for another topology change', async () => {
    const attempts: string[] = [];
    const errors: unknown[] = [];
    let refusalsLeft = 2;
    following.push(
      await followCellPrimary({
        cellId: 'cell-1',
        globalMysqlUrl: globalUrl,
        redisUrl: `redis://${infra.redis.host}:${infra.redis.port}`,
        redisPrefix: prefix,
        repoint: async (host, port) => {
          attempts.push(`${host}:${port}`);
          if (refusalsLeft > 0) {
            refusalsLeft -= 1;
            throw new Error('the new primary refused the connection');
          }
          return true;
        },
        onRepointed: () => undefined,
        onError: (error) => errors.push(error),
      }),
    );
    // The first install inside start failed and was retried in the background.
    await pollUntil(() => attempts.length === 3, {
      description: 'two failed repoints and a third that succeeds',
      timeoutMs: 5_000,
    });
    expect(attempts).toEqual(['127.0.0.1:4412', '127.0.0.1:4412', '127.0.0.1:4412']);
    expect(errors).toHaveLength(2);
  });

  it('refuses to record a primary in a region without a node, and changes nothing', async () => {
    await expect(
      store.setPrimary('cell-1', 'region-c', { actor: 'sre', action: 'x', subject: 'cell-1' }),
    ).rejects.toThrow(/primary region region-c has no node/);
    expect((await store.load())?.value.cells[0]?.primaryRegion).toBe('region-b');
    expect(await store.readVersion()).toBe(2n);
  });
});
