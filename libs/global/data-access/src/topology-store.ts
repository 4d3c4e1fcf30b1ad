import type Redis from 'ioredis';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

import { applyMigrations } from '@cellpay/connections';

import {
  deserializeTopology,
  serializeTopology,
  validateTopology,
  withPrimary,
  type CellTopology,
  type Topology,
} from './topology';
import { topologyMigrationOptions, topologyMigrations } from './topology-schema';
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

export interface TopologyChange {
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
}

export const topologyCodec: VersionedCodec<Topology> = {
  serialize: serializeTopology,
  deserialize: deserializeTopology,
};

export function topologyRedisKeys(prefix = 'cellpay'): RedisDocumentKeys {
  return redisDocumentKeys(prefix, 'topology');
}

/**
 * The shard topology in the global zone. Every change runs in one transaction that locks the
 * version row, validates the new topology, bumps the version and writes an audit record with the
 * topology before and after.
 */
export class TopologyStore implements VersionedSource<Topology> {
  constructor(private readonly pool: Pool) {}

  /** Creates the tables if needed (their own history table; safe to run every time). */
  async migrate(): Promise<void> {
    await applyMigrations(
      this.pool,
      topologyMigrations,
      'cellpay-topology',
      topologyMigrationOptions,
    );
  }

  async readVersion(): Promise<bigint | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT version FROM topology_meta WHERE id = 1',
    );
    const version = rows[0]?.['version'];
    return version === undefined ? undefined : BigInt(String(version));
  }

  async load(): Promise<Versioned<Topology> | undefined> {
    const connection = await this.pool.getConnection();
    try {
      await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      try {
        const topology = await readTopology(connection, false);
        return topology === undefined ? undefined : { version: topology.version, value: topology };
      } finally {
        await connection.query('COMMIT');
      }
    } finally {
      connection.release();
    }
  }

  /** Replaces the whole topology (`cellctl topology load`). */
  replace(cells: readonly CellTopology[], change: TopologyChange): Promise<Topology> {
    return this.change(change, () => cells);
  }

  /** Records that `cellId`'s primary is now its node in `region` (the end of a failover). */
  setPrimary(cellId: string, region: string, change: TopologyChange): Promise<Topology> {
    return this.change(change, (before) => {
      if (before === undefined) throw new Error('topology: not loaded (cellctl topology load)');
      return withPrimary(before.cells, cellId, region);
    });
  }

  private async change(
    change: TopologyChange,
    apply: (before: Topology | undefined) => readonly CellTopology[],
  ): Promise<Topology> {
    const connection = await this.pool.getConnection();
    try {
      await connection.beginTransaction();
      try {
        const [meta] = await connection.query<RowDataPacket[]>(
          'SELECT version FROM topology_meta WHERE id = 1 FOR UPDATE',
        );
        const before = meta.length === 0 ? undefined : await readTopology(connection, true);
        const cells = apply(before);
        validateTopology(cells);
        const after: Topology = { version: (before?.version ?? 0n) + 1n, cells };
        await connection.query(
          'INSERT INTO topology_meta (id, version) VALUES (1, ?) ON DUPLICATE KEY UPDATE version = VALUES(version)',
          [after.version.toString()],
        );
        await connection.query('DELETE FROM topology_nodes');
        await connection.query('DELETE FROM topology_cells');
        for (const cell of cells) {
          await connection.query(
            `INSERT INTO topology_cells (cell_id, home_region, standby_region, primary_region)
             VALUES (?, ?, ?, ?)`,
            [cell.cellId, cell.homeRegion, cell.standbyRegion, cell.primaryRegion],
          );
          await connection.query(
            'INSERT INTO topology_nodes (cell_id, region, host, port) VALUES ?',
            [cell.nodes.map((node) => [cell.cellId, node.region, node.host, node.port])],
          );
        }
        await connection.query(
          'INSERT INTO audit_log (actor, action, subject, before_json, after_json) VALUES (?, ?, ?, ?, ?)',
          [
            change.actor,
            change.action,
            change.subject,
            before === undefined ? null : serializeTopology(before),
            serializeTopology(after),
          ],
        );
        await connection.commit();
        return after;
      } catch (error) {
        await connection.rollback();
        throw error;
      }
    } finally {
      connection.release();
    }
  }
}

async function readTopology(
  connection: PoolConnection,
  forUpdate: boolean,
): Promise<Topology | undefined> {
  const lock = forUpdate ? ' FOR UPDATE' : '';
  const [meta] = await connection.query<RowDataPacket[]>(
    `SELECT version FROM topology_meta WHERE id = 1${lock}`,
  );
  const version = meta[0]?.['version'];
  if (version === undefined) return undefined;
  const [cells] = await connection.query<RowDataPacket[]>(
    'SELECT cell_id, home_region, standby_region, primary_region FROM topology_cells ORDER BY cell_id',
  );
  const [nodes] = await connection.query<RowDataPacket[]>(
    'SELECT cell_id, region, host, port FROM topology_nodes ORDER BY cell_id, region',
  );
  return {
    version: BigInt(String(version)),
    cells: cells.map((cell) => ({
      cellId: String(cell['cell_id']),
      homeRegion: String(cell['home_region']),
      standbyRegion: String(cell['standby_region']),
      primaryRegion: String(cell['primary_region']),
      nodes: nodes
        .filter((node) => node['cell_id'] === cell['cell_id'])
        .map((node) => ({
          region: String(node['region']),
          host: String(node['host']),
          port: Number(node['port']),
        })),
    })),
  };
}

/** Puts a committed topology into the Redis cache and tells every follower. */
export function publishTopology(
  redis: Redis,
  keys: RedisDocumentKeys,
  topology: Topology,
): Promise<boolean> {
  return publish(redis, keys, topologyCodec, { version: topology.version, value: topology });
}

/** The topology a process follows, within a second of each change. */
export function createTopologyFollower(
  store: TopologyStore,
  redis: Redis,
  subscriber: Redis,
  options: Partial<FollowerOptions> & Pick<FollowerOptions, 'keys'>,
  onError?: (error: unknown) => void,
): VersionedFollower<Topology> {
  return new VersionedFollower(
    store,
    topologyCodec,
    redis,
    subscriber,
    { ...followerDefaults, ...options },
    onError,
  );
}
