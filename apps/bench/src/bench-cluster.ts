import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import type { Admin } from 'kafkajs';

import { infraStateDir, readInfraEndpoints } from '@cellpay/config';
import { createKafka, createMysqlPool, createRedis } from '@cellpay/connections';
import {
  type LocalClusterSettings,
  type LocalGatewayFleet,
  provisionLocalFleet,
} from '@cellpay/loadgen';
import { deadLetterTopic, inboundTopic } from '@cellpay/settlement-domain';
import { ensureSettlementTopics } from '@cellpay/settlement-messaging';

/** Bounds of starting and stopping the bench's own cluster. */
export const benchClusterLimits = {
  clusterCommandTimeoutMs: 5 * 60_000,
  portProbesMax: 200,
  /** Keys deleted per SCAN page, and pages at most, when the cluster's Redis prefix is cleared. */
  redisScanPageSize: 500,
  redisScanPagesMax: 10_000,
} as const;

/** Deletes the keys under `prefix:` (routing and switch documents, nonces, rate buckets). */
async function clearRedisPrefix(
  endpoint: { host: string; port: number },
  prefix: string,
): Promise<void> {
  const redis = createRedis(endpoint);
  try {
    let cursor = '0';
    for (let page = 0; page < benchClusterLimits.redisScanPagesMax; page += 1) {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix}:*`,
        'COUNT',
        benchClusterLimits.redisScanPageSize,
      );
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
      if (cursor === '0') return;
    }
  } finally {
    redis.disconnect();
  }
}

/** Runs `work` with a Kafka admin client of its own, connected for the call only. */
async function withKafkaAdmin(
  brokers: readonly string[],
  clientId: string,
  work: (admin: Admin) => Promise<void>,
): Promise<void> {
  const admin = createKafka({ brokers, clientId }).admin();
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates the cluster's settlement topics before its relays start. Each relay creates its own
 * topics at boot, but three relays doing so at once on a fresh prefix race the broker's metadata
 * ("This server does not host this topic-partition"), and a relay that loses exits, so nothing
 * crossing into its cell ever settles. Created beforehand, the relays find them ready.
 */
function createSettlementTopics(
  brokers: readonly string[],
  cellIds: readonly string[],
  prefix: string,
): Promise<void> {
  return withKafkaAdmin(brokers, `${prefix}-setup`, (admin) =>
    ensureSettlementTopics(admin, cellIds, prefix),
  );
}

/** Deletes the cluster's settlement topics (best effort: the prefix is unique to the run). */
function deleteSettlementTopics(
  brokers: readonly string[],
  cellIds: readonly string[],
  prefix: string,
): Promise<void> {
  return withKafkaAdmin(brokers, `${prefix}-teardown`, async (admin) => {
    const ours = new Set(
      cellIds.flatMap((cellId) => [inboundTopic(cellId, prefix), deadLetterTopic(cellId, prefix)]),
    );
    const existing = (await admin.listTopics()).filter((topic) => ours.has(topic));
    if (existing.length > 0) await admin.deleteTopics({ topics: existing });
  });
}

/** A cluster of cluster:up's real processes on the shared servers, in databases of its own. */
export interface OwnCluster {
  /** The environment that names it, for cluster:up/down, cellctl and the load generator. */
  readonly env: NodeJS.ProcessEnv;
  readonly settings: LocalClusterSettings;
  /** Stops the processes, drops the databases, clears the Redis prefix, removes the state folder. */
  stop(): Promise<void>;
}

/** The bench's own cluster with its load fleet provisioned. */
export interface BenchCluster {
  readonly fleet: LocalGatewayFleet;
  /** The processes whose CPU a payment costs when it uses `cells`: gateway, those cells (and their relays), their MariaDB primaries and replicas. */
  serverPids(cells: readonly string[]): number[];
  stop(): Promise<void>;
}

function freePort(port = 0): Promise<number | undefined> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolvePort(typeof address === 'object' && address !== null ? address.port : undefined),
      );
    });
  });
}

/** A base port whose next `count` ports are all free (cluster:up puts cell N on base + N). */
async function freePortBlock(count: number): Promise<number> {
  for (let probe = 0; probe < benchClusterLimits.portProbesMax; probe += 1) {
    const base = await freePort();
    if (base === undefined || base + count > 65_535) continue;
    let free = true;
    for (let offset = 1; offset <= count && free; offset += 1)
      free = (await freePort(base + offset)) !== undefined;
    if (free) return base;
  }
  throw new Error(`found no ${count} consecutive free ports`);
}

function runCluster(command: 'up' | 'down', root: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(
      process.execPath,
      [join(root, 'tools', 'cluster', 'cluster.mjs'), command],
      { cwd: root, env, encoding: 'utf8', timeout: benchClusterLimits.clusterCommandTimeoutMs },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`cluster ${command} failed: ${stderr.trim() || error.message}`))
          : resolveRun(stdout),
    );
  });
}

function mysqldPid(name: string): number {
  return Number(readFileSync(join(infraStateDir(), 'mysql', name, 'mysqld.pid'), 'utf8').trim());
}

/**
 * Starts cluster:up's processes (gateway and every cell) on the shared MariaDB, Redis and Kafka,
 * but in fresh databases, a Redis prefix and Kafka topic prefix of its own, on free ports: a
 * clean cluster that neither disturbs nor reads anyone else's. `tag` names all of it.
 */
export async function startOwnCluster(
  tag: string,
  log: (line: string) => void,
): Promise<OwnCluster> {
  const root = process.cwd();
  const folder = join(root, 'tmp', 'own-cluster', tag);
  const infraView = join(folder, 'infra');
  const clusterDir = join(folder, 'cluster');
  const endpoints = readInfraEndpoints();
  const databases = {
    global: `${tag}_global`,
    cells: endpoints.cells.map((cell) => `${tag}_${cell.id.replace(/-/g, '_')}`),
  };
  const servers = [
    { port: endpoints.global.port, database: databases.global },
    ...endpoints.cells.map((cell, index) => ({
      port: cell.primary.port,
      database: databases.cells[index] ?? '',
    })),
  ];
  const onEachServer = async (statement: (database: string) => string): Promise<void> => {
    for (const server of servers) {
      const admin = createMysqlPool({ ...endpoints.mysql, port: server.port });
      try {
        await admin.query(statement(server.database));
      } finally {
        await admin.end();
      }
    }
  };
  mkdirSync(infraView, { recursive: true });
  await onEachServer((database) => `CREATE DATABASE IF NOT EXISTS \`${database}\``);
  writeFileSync(
    join(infraView, 'endpoints.json'),
    JSON.stringify({
      ...endpoints,
      // The data-only account is granted the installation's own cell databases, not these: the
      // bench's cells serve with the admin account (fencing is the drills' business, not its).
      mysqlData: undefined,
      global: { ...endpoints.global, database: databases.global },
      cells: endpoints.cells.map((cell, index) => ({ ...cell, database: databases.cells[index] })),
    }),
  );
  // Its own databases, so its own key that seals the credentials it registers (a fresh
  // installation has no key yet: the first local cellctl call would write one).
  writeFileSync(join(infraView, 'credential-kek'), randomBytes(32).toString('base64'), {
    mode: 0o600,
  });
  const cellIds = endpoints.cells.map((cell) => cell.id);
  const cellPortBase = await freePortBlock(endpoints.cells.length);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CELLPAY_INFRA_DIR: infraView,
    CELLPAY_CLUSTER_DIR: clusterDir,
    CELLPAY_CLUSTER_GATEWAY_PORT: String((await freePort()) ?? 0),
    CELLPAY_CLUSTER_GATEWAY_OPS_PORT: String((await freePort()) ?? 0),
    CELLPAY_CLUSTER_CELL_PORT_BASE: String(cellPortBase),
    // cluster:up gives the cells no ops port of their own: let each take a free one.
    CELLPAY_OPS_PORT: '0',
    CELLPAY_REDIS_PREFIX: tag,
    CELLPAY_KAFKA_TOPIC_PREFIX: tag,
  };
  const stop = async (): Promise<void> => {
    try {
      if (existsSync(join(clusterDir, 'pids.json'))) await runCluster('down', root, env);
    } finally {
      await onEachServer((database) => `DROP DATABASE IF EXISTS \`${database}\``);
      await clearRedisPrefix(endpoints.redis, tag);
      await deleteSettlementTopics(endpoints.kafka.brokers, cellIds, tag).catch(() => undefined);
      rmSync(folder, { recursive: true, force: true });
    }
  };
  const settings: LocalClusterSettings = {
    repositoryRoot: root,
    clusterDir,
    infraDir: infraView,
    cellPortBase,
    gatewayAddress: undefined,
    cellAddresses: undefined,
  };
  try {
    log(
      `own cluster: starting gateway and ${endpoints.cells.length} cells (cluster:up, databases ${tag}_*) ...`,
    );
    await createSettlementTopics(endpoints.kafka.brokers, cellIds, tag);
    await runCluster('up', root, env);
    return { env, settings, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * The bench's own cluster (startOwnCluster) with the load fleet (merchants, credentials,
 * accounts) provisioned on it through cellctl.
 */
export async function startBenchCluster(
  options: { readonly merchantsPerCell: number; readonly payers: number },
  log: (line: string) => void,
): Promise<BenchCluster> {
  const own = await startOwnCluster(`bench${process.pid}`, log);
  try {
    const fleet = await provisionLocalFleet(
      {
        cluster: own.settings,
        env: own.env,
        cells: [],
        payers: options.payers,
        merchantsPerCell: options.merchantsPerCell,
        topUpMinor: 100_000_000n,
        live: true,
        currency: 'CNY',
      },
      log,
    );
    return {
      fleet,
      serverPids: (cells) => {
        const processes = Object.entries(fleet.cluster.pids)
          .filter(
            ([name]) =>
              name === 'gateway' || cells.some((cell) => name === cell || name.endsWith(cell)),
          )
          .map(([, pid]) => pid);
        const shards = cells.flatMap((cell) => [
          mysqldPid(`${cell}-primary`),
          mysqldPid(`${cell}-replica`),
        ]);
        return [...processes, ...shards];
      },
      stop: () => own.stop(),
    };
  } catch (error) {
    await own.stop().catch(() => undefined);
    throw error;
  }
}
