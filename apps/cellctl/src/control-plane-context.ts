import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';

import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'mysql2/promise';

import { infraStateDir, readInfraEndpoints } from '@cellpay/config';
import { createKafka, createMysqlPool, createRedis, mysqlEndpointOf } from '@cellpay/connections';
import { SecretBox } from '@cellpay/global-data-access';

export interface ControlPlaneSettings {
  readonly globalMysqlUrl: string;
  readonly redisUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly redisPrefix: string;
  readonly topicPrefix: string;
  /** Base64 of the 32-byte key that seals credential secrets. */
  readonly credentialKek: string | undefined;
  readonly actor: string;
  /** Each cell's shard (its primary), for the commands that read shards: `reconcile`. */
  readonly cellShardUrls: readonly { readonly cellId: string; readonly url: string }[];
  /** Each cell's standby replica, for `status` (replication lag); may be empty. */
  readonly cellReplicaUrls: readonly { readonly cellId: string; readonly url: string }[];
  /** host:port of a gateway's ops server (`/metrics`), for `status` (breaker states). */
  readonly gatewayOpsAddress: string | undefined;
}

/** Settings from the environment; with --local, from the endpoints of tools/infra. */
export function resolveSettings(
  local: boolean,
  env: NodeJS.ProcessEnv = process.env,
): ControlPlaneSettings {
  const actor = env['CELLPAY_ACTOR'] ?? `${userInfo().username}@${hostname()}`;
  const redisPrefix = env['CELLPAY_REDIS_PREFIX'] ?? 'cellpay';
  const topicPrefix = env['CELLPAY_KAFKA_TOPIC_PREFIX'] ?? 'cellpay';
  if (local) {
    const infra = readInfraEndpoints();
    const { user, password, host } = infra.mysql;
    return {
      globalMysqlUrl: `mysql://${user}:${password}@${host}:${infra.global.port}/${infra.global.database}`,
      redisUrl: `redis://${infra.redis.host}:${infra.redis.port}`,
      kafkaBrokers: infra.kafka.brokers,
      redisPrefix,
      topicPrefix,
      credentialKek: env['CELLPAY_CREDENTIAL_KEK'] ?? localKek(),
      actor,
      cellShardUrls: infra.cells.map((cell) => ({
        cellId: cell.id,
        url: `mysql://${user}:${password}@${host}:${cell.primary.port}/${cell.database}`,
      })),
      cellReplicaUrls: infra.cells.map((cell) => ({
        cellId: cell.id,
        url: `mysql://${user}:${password}@${host}:${cell.replica.port}/${cell.database}`,
      })),
      // The gateway of `npm run cluster:up`, unless told otherwise.
      gatewayOpsAddress:
        env['CELLPAY_GATEWAY_OPS'] ??
        `127.0.0.1:${env['CELLPAY_CLUSTER_GATEWAY_OPS_PORT'] ?? '9464'}`,
    };
  }
  const missing = ['CELLPAY_GLOBAL_MYSQL_URL', 'CELLPAY_REDIS_URL', 'CELLPAY_KAFKA_BROKERS'].filter(
    (name) => !env[name],
  );
  if (missing.length > 0) {
    throw new Error(`set ${missing.join(', ')} (or pass --local to use tools/infra)`);
  }
  return {
    globalMysqlUrl: env['CELLPAY_GLOBAL_MYSQL_URL'] ?? '',
    redisUrl: env['CELLPAY_REDIS_URL'] ?? '',
    kafkaBrokers: (env['CELLPAY_KAFKA_BROKERS'] ?? '').split(',').filter(Boolean),
    redisPrefix,
    topicPrefix,
    credentialKek: env['CELLPAY_CREDENTIAL_KEK'],
    actor,
    cellShardUrls: parseCellShards(env['CELLPAY_CELL_SHARDS'] ?? ''),
    cellReplicaUrls: parseCellShards(env['CELLPAY_CELL_REPLICAS'] ?? ''),
    gatewayOpsAddress: env['CELLPAY_GATEWAY_OPS'],
  };
}

/** `cell-1=mysql://user:pass@host:3306/db,cell-2=...`: the shards, by cell ID. */
export function parseCellShards(
  value: string,
): readonly { readonly cellId: string; readonly url: string }[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^(cell-[0-9]{1,3})=(mysql:\/\/.+)$/.exec(entry);
      if (match === null || match[1] === undefined || match[2] === undefined) {
        // The URL holds a password: name the entry by what precedes it, never print it whole.
        const name = entry.split('=')[0] ?? '';
        throw new Error(`CELLPAY_CELL_SHARDS: expected cell-N=mysql://..., got "${name}=..."`);
      }
      return { cellId: match[1], url: match[2] };
    });
}

/** The local installation keeps its own key-encryption key beside its data (never in git). */
function localKek(): string {
  const path = join(infraStateDir(), 'credential-kek');
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

/**
 * Connections opened on first use and closed once at exit, so a command that needs only MySQL
 * never waits on a Kafka that is down.
 */
export class ControlPlaneContext {
  private pool: Pool | undefined;
  private redis: Redis | undefined;
  private kafka: Kafka | undefined;

  constructor(readonly settings: ControlPlaneSettings) {}

  globalPool(): Pool {
    if (this.pool === undefined) {
      this.pool = createMysqlPool(
        mysqlEndpointOf(this.settings.globalMysqlUrl, 'CELLPAY_GLOBAL_MYSQL_URL'),
        { connectionsMax: 4, queuedRequestsMax: 100, connectTimeoutMs: 5_000 },
      );
    }
    return this.pool;
  }

  redisClient(): Redis {
    if (this.redis === undefined) {
      const url = new URL(this.settings.redisUrl);
      this.redis = createRedis({ host: url.hostname, port: Number(url.port || '6379') });
    }
    return this.redis;
  }

  kafkaClient(): Kafka {
    this.kafka ??= createKafka({ brokers: this.settings.kafkaBrokers, clientId: 'cellctl' });
    return this.kafka;
  }

  secretBox(): SecretBox {
    if (this.settings.credentialKek === undefined) {
      throw new Error('set CELLPAY_CREDENTIAL_KEK (base64 of 32 bytes) to manage credentials');
    }
    return SecretBox.fromBase64(this.settings.credentialKek);
  }

  async close(): Promise<void> {
    await this.pool?.end();
    this.redis?.disconnect();
  }
}
