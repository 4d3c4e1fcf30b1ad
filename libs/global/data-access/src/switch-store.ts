import type Redis from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

import { switchDefinition, switchValuesFrom, type SwitchValues } from './switches';
import {
  followerDefaults,
  publish,
  redisDocumentKeys,
  VersionedFollower,
  type FollowerOptions,
  type RedisDocumentKeys,
  type Versioned,
  type VersionedCodec,
  type VersionedSource,
} from './versioned-follower';

export const switchCodec: VersionedCodec<SwitchValues> = {
  serialize: (values) => JSON.stringify(values),
  deserialize: (json) => {
    const parsed = JSON.parse(json) as Record<string, unknown>;
    // Re-validate through the definitions, so a bad cache entry is refused, never installed.
    return switchValuesFrom(
      new Map([
        ['gl_posting_deferred', parsed['glPostingDeferred']],
        ['stress_traffic_rejected', parsed['stressTrafficRejected']],
        ['cross_cell_payments_paused', parsed['crossCellPaymentsPaused']],
        ['merchant_rate_caps', parsed['merchantRateCaps']],
      ]),
    );
  },
};

export function switchRedisKeys(prefix = 'cellpay'): RedisDocumentKeys {
  return redisDocumentKeys(prefix, 'switches');
}

/**
 * Switches in the global zone. Setting one validates the value against its definition, bumps the
 * switch version and writes an audit record (who, what, before, after) in one transaction.
 */
export class SwitchStore implements VersionedSource<SwitchValues> {
  constructor(private readonly pool: Pool) {}

  async readVersion(): Promise<bigint | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT version FROM switch_meta WHERE id = 1',
    );
    const version = rows[0]?.['version'];
    return version === undefined ? undefined : BigInt(String(version));
  }

  async load(): Promise<Versioned<SwitchValues> | undefined> {
    const connection = await this.pool.getConnection();
    try {
      await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      try {
        const [meta] = await connection.query<RowDataPacket[]>(
          'SELECT version FROM switch_meta WHERE id = 1',
        );
        const [rows] = await connection.query<RowDataPacket[]>(
          'SELECT name, value_json FROM switches',
        );
        const version = meta[0]?.['version'];
        if (version === undefined) return undefined;
        return {
          version: BigInt(String(version)),
          value: switchValuesFrom(
            new Map(
              rows.map((row) => [
                String(row['name']),
                JSON.parse(String(row['value_json'])) as unknown,
              ]),
            ),
          ),
        };
      } finally {
        await connection.query('COMMIT');
      }
    } finally {
      connection.release();
    }
  }

  async set(name: string, value: unknown, actor: string): Promise<Versioned<SwitchValues>> {
    const definition = switchDefinition(name);
    const parsed = definition.parse(value);
    const connection = await this.pool.getConnection();
    try {
      await connection.beginTransaction();
      try {
        const [meta] = await connection.query<RowDataPacket[]>(
          'SELECT version FROM switch_meta WHERE id = 1 FOR UPDATE',
        );
        const version = BigInt(String(meta[0]?.['version'] ?? '0')) + 1n;
        const [before] = await connection.query<RowDataPacket[]>(
          'SELECT value_json FROM switches WHERE name = ?',
          [name],
        );
        const afterJson = JSON.stringify(parsed);
        await connection.query('UPDATE switch_meta SET version = ? WHERE id = 1', [
          version.toString(),
        ]);
        await connection.query(
          `INSERT INTO switches (name, value_json, version) VALUES (?, ?, ?)
           ON DUPLICATE KEY UPDATE value_json = VALUES(value_json), version = VALUES(version),
             updated_at = CURRENT_TIMESTAMP(6)`,
          [name, afterJson, version.toString()],
        );
        await connection.query(
          'INSERT INTO audit_log (actor, action, subject, before_json, after_json) VALUES (?, ?, ?, ?, ?)',
          [actor, 'switch.set', name, before[0]?.['value_json'] ?? null, afterJson],
        );
        await connection.commit();
      } catch (error) {
        await connection.rollback();
        throw error;
      }
    } finally {
      connection.release();
    }
    const document = await this.load();
    if (document === undefined) throw new Error('switches: version row missing after set');
    return document;
  }
}

export function publishSwitches(
  redis: Redis,
  keys: RedisDocumentKeys,
  document: Versioned<SwitchValues>,
): Promise<boolean> {
  return publish(redis, keys, switchCodec, document);
}

/** The switch values a process obeys, read from memory on the request path. */
export function createSwitchFollower(
  store: SwitchStore,
  redis: Redis,
  subscriber: Redis,
  options: Partial<FollowerOptions> & Pick<FollowerOptions, 'keys'>,
  onError?: (error: unknown) => void,
): VersionedFollower<SwitchValues> {
  return new VersionedFollower(
    store,
    switchCodec,
    redis,
    subscriber,
    { ...followerDefaults, ...options },
    onError,
  );
}
