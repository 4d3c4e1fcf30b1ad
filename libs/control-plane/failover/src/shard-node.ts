import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

import { createMysqlPool, type MysqlEndpoint } from '@cellpay/connections';

import { parseGtidPosition, type GtidPosition } from './gtid-position';

/** One MySQL server of a shard pair, reached with an administrative account. */
export interface ShardNodeEndpoint extends MysqlEndpoint {
  /** How reports and errors name it, e.g. `cell-1@region-a`. */
  readonly name: string;
}

/** The account a replica uses to read the primary's binary log. */
export interface ReplicationCredentials {
  readonly user: string;
  readonly password: string;
}

export interface ReplicaThreadFacts {
  readonly sourceHost: string;
  readonly sourcePort: number;
  readonly ioThreadRunning: boolean;
  readonly sqlThreadRunning: boolean;
  readonly secondsBehindSource: number | null;
  /** Every GTID the IO thread has received into the relay log (`Gtid_IO_Pos`). */
  readonly receivedPosition: string;
  readonly lastIoError: string;
  readonly lastSqlError: string;
}

export interface SemiSyncFacts {
  readonly sourceEnabled: boolean;
  /** `Rpl_semi_sync_master_status`: OFF once the primary fell back to asynchronous replication. */
  readonly sourceActive: boolean;
  readonly clients: number;
  /** Commits acknowledged without a replica's acknowledgement (`Rpl_semi_sync_master_no_tx`). */
  readonly unacknowledgedCommits: bigint;
  readonly acknowledgedCommits: bigint;
  readonly replicaActive: boolean;
}

/** What a server says about its replication, read in one go. */
export interface ReplicationFacts {
  readonly node: string;
  readonly readOnly: boolean;
  readonly gtidBinlogPosition: string;
  readonly gtidReplicaPosition: string;
  readonly gtidCurrentPosition: string;
  readonly replica: ReplicaThreadFacts | null;
  readonly semiSync: SemiSyncFacts;
}

/** Connection limits of an admin pool: a failover needs few connections and must never hang. */
export const shardNodeLimits = {
  connectionsMax: 4,
  queuedRequestsMax: 16,
  connectTimeoutMs: 2_000,
  /** Upper bound on any single admin statement. */
  statementTimeoutMs: 10_000,
  /** Upper bound on client connections killed in one fence. */
  killedConnectionsMax: 1_000,
  /** Attempts at `read_only=ON` when it waits out its lock bound (each after killing holders). */
  fenceAttemptsMax: 5,
} as const;

/** ER_LOCK_WAIT_TIMEOUT: `SET GLOBAL read_only` waited longer than `lock_wait_timeout`. */
const errorLockWaitTimeout = 1205;

/**
 * Commands of a client connection that are the server's own or replication's; fencing never kills
 * them (killing a Binlog Dump thread would cut the replica off at the worst moment).
 */
const protectedCommands = ['Binlog Dump', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker'];
const protectedUsers = ['system user', 'event_scheduler'];

/**
 * The administrative operations the failover engine performs on one MariaDB server. Every
 * statement carries a timeout; nothing here knows about cells or routing.
 */
export class ShardNode {
  private pool: Pool;

  constructor(readonly endpoint: ShardNodeEndpoint) {
    this.pool = createMysqlPool(this.serverEndpoint(), shardNodeLimits);
  }

  /** No default database: a failover works on the server, and the cell's schema may not exist yet. */
  private serverEndpoint(): MysqlEndpoint {
    const { database: _database, ...server } = this.endpoint;
    void _database;
    return server;
  }

  get name(): string {
    return this.endpoint.name;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** True when the server answers `SELECT 1` within `timeoutMs`. */
  async answers(timeoutMs: number): Promise<boolean> {
    try {
      await this.pool.query({ sql: 'SELECT 1', timeout: timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  async facts(): Promise<ReplicationFacts> {
    const [variables] = await this.query(
      `SELECT @@global.read_only AS readOnly, @@global.gtid_binlog_pos AS binlogPos,
              @@global.gtid_slave_pos AS slavePos, @@global.gtid_current_pos AS currentPos,
              @@global.rpl_semi_sync_master_enabled AS semiSyncEnabled`,
    );
    const row = variables[0];
    if (row === undefined) throw new Error(`${this.name}: no answer to the variables query`);
    const status = await this.semiSyncStatus();
    const [replicaRows] = await this.query('SHOW SLAVE STATUS');
    const replica = replicaRows[0];
    return {
      node: this.name,
      readOnly: Number(row['readOnly']) === 1,
      gtidBinlogPosition: String(row['binlogPos'] ?? ''),
      gtidReplicaPosition: String(row['slavePos'] ?? ''),
      gtidCurrentPosition: String(row['currentPos'] ?? ''),
      replica:
        replica === undefined
          ? null
          : {
              sourceHost: String(replica['Master_Host']),
              sourcePort: Number(replica['Master_Port']),
              ioThreadRunning: replica['Slave_IO_Running'] === 'Yes',
              sqlThreadRunning: replica['Slave_SQL_Running'] === 'Yes',
              secondsBehindSource:
                replica['Seconds_Behind_Master'] === null
                  ? null
                  : Number(replica['Seconds_Behind_Master']),
              receivedPosition: String(replica['Gtid_IO_Pos'] ?? ''),
              lastIoError: String(replica['Last_IO_Error'] ?? ''),
              lastSqlError: String(replica['Last_SQL_Error'] ?? ''),
            },
      semiSync: { ...status, sourceEnabled: Number(row['semiSyncEnabled']) === 1 },
    };
  }

  async binlogPosition(): Promise<GtidPosition> {
    return parseGtidPosition(await this.variable('gtid_binlog_pos'));
  }

  async replicaAppliedPosition(): Promise<GtidPosition> {
    return parseGtidPosition(await this.variable('gtid_slave_pos'));
  }

  async currentPosition(): Promise<GtidPosition> {
    return parseGtidPosition(await this.variable('gtid_current_pos'));
  }

  /**
   * Fences the server: `read_only=ON` stops every account without the READ_ONLY ADMIN privilege
   * from writing. `SET GLOBAL read_only` waits for transactions in their commit phase, so it runs
   * under a lock wait bound; if that bound passes, the connections holding transactions open are
   * killed and the fence is set again.
   */
  async fence(graceMs: number): Promise<{ killedConnections: number }> {
    const lockWaitSeconds = Math.max(1, Math.ceil(graceMs / 1_000));
    const connection = await this.pool.getConnection();
    try {
      await this.on(connection, `SET SESSION lock_wait_timeout = ${lockWaitSeconds}`);
      // A commit waiting for its semi-sync acknowledgement holds the commit lock that
      // `read_only=ON` needs, and killing its connection does not end the wait at once (on a busy
      // machine it outlasted one retry), so the fence is retried, a bounded number of times,
      // killing the transaction holders before each retry. Other errors end it at once.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await this.on(connection, 'SET GLOBAL read_only = ON');
          break;
        } catch (error) {
          const lockWaitTimedOut = (error as { errno?: number }).errno === errorLockWaitTimeout;
          if (!lockWaitTimedOut || attempt >= shardNodeLimits.fenceAttemptsMax) throw error;
          await this.killTransactionHolders(connection);
        }
      }
      await this.on(connection, 'SET SESSION lock_wait_timeout = DEFAULT');
    } finally {
      connection.release();
    }
    // Transactions opened before the fence may still hold row locks and would only fail at their
    // commit; after the grace period they are cut off so they cannot block the promotion.
    await new Promise((resolve) => setTimeout(resolve, graceMs));
    const killed = await this.withConnection((c) => this.killTransactionHolders(c));
    return { killedConnections: killed };
  }

  /**
   * Fences a server that has just come back: read_only first, then every client connection that
   * may have reached it in between is cut, whether or not it holds a transaction.
   */
  async fenceReturning(): Promise<{ killedConnections: number }> {
    await this.query('SET GLOBAL read_only = ON');
    const killed = await this.withConnection((c) => this.killClientConnections(c, false));
    // The kill also cut this pool's own idle connections; a query sent on one of them would wait
    // out the statement timeout, so the pool starts afresh.
    await this.renewConnections();
    return { killedConnections: killed };
  }

  /** Drops every pooled connection and starts a fresh pool (after kills or a server restart). */
  async renewConnections(): Promise<void> {
    const stale = this.pool;
    this.pool = createMysqlPool(this.serverEndpoint(), shardNodeLimits);
    await stale.end().catch(() => undefined);
  }

  async unfence(): Promise<void> {
    await this.query('SET GLOBAL read_only = OFF');
  }

  async stopReplication(): Promise<void> {
    await this.query('STOP SLAVE');
  }

  /** Forgets the replication source entirely (`RESET SLAVE ALL`): the server is now a primary. */
  async forgetReplicationSource(): Promise<void> {
    await this.query('STOP SLAVE');
    await this.query('RESET SLAVE ALL');
  }

  /**
   * Makes this server a read-only semi-sync replica of `source`, starting from its own current
   * GTID position (`current_pos` covers what it wrote itself as a primary).
   */
  async replicateFrom(
    source: ShardNodeEndpoint,
    credentials: ReplicationCredentials,
  ): Promise<void> {
    await this.query('SET GLOBAL read_only = ON');
    await this.query('SET GLOBAL rpl_semi_sync_master_enabled = OFF');
    await this.query('SET GLOBAL rpl_semi_sync_slave_enabled = ON');
    await this.query('STOP SLAVE');
    await this.query(
      `CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?,
         MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 1`,
      [source.host, source.port, credentials.user, credentials.password],
    );
    await this.query('START SLAVE');
  }

  async setSemiSyncSource(enabled: boolean): Promise<void> {
    await this.query(`SET GLOBAL rpl_semi_sync_master_enabled = ${enabled ? 'ON' : 'OFF'}`);
  }

  async semiSyncStatus(): Promise<Omit<SemiSyncFacts, 'sourceEnabled'>> {
    const [rows] = await this.query(
      `SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status',
         'Rpl_semi_sync_master_clients', 'Rpl_semi_sync_master_no_tx',
         'Rpl_semi_sync_master_yes_tx', 'Rpl_semi_sync_slave_status')`,
    );
    const value = (name: string): string =>
      String(rows.find((r) => r['Variable_name'] === name)?.['Value'] ?? '');
    return {
      sourceActive: value('Rpl_semi_sync_master_status') === 'ON',
      clients: Number(value('Rpl_semi_sync_master_clients') || '0'),
      unacknowledgedCommits: BigInt(value('Rpl_semi_sync_master_no_tx') || '0'),
      acknowledgedCommits: BigInt(value('Rpl_semi_sync_master_yes_tx') || '0'),
      replicaActive: value('Rpl_semi_sync_slave_status') === 'ON',
    };
  }

  private async killTransactionHolders(connection: PoolConnection): Promise<number> {
    return this.killClientConnections(connection, true);
  }

  private async killClientConnections(
    connection: PoolConnection,
    onlyTransactionHolders: boolean,
  ): Promise<number> {
    const [rows] = await connection.query<RowDataPacket[]>({
      sql: `SELECT p.ID AS id FROM information_schema.PROCESSLIST p
            ${onlyTransactionHolders ? 'JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID' : ''}
            WHERE p.ID <> CONNECTION_ID() AND p.COMMAND NOT IN (?) AND p.USER NOT IN (?)
            LIMIT ${shardNodeLimits.killedConnectionsMax}`,
      values: [protectedCommands, protectedUsers],
      timeout: shardNodeLimits.statementTimeoutMs,
    });
    let killed = 0;
    for (const row of rows) {
      try {
        await this.on(connection, `KILL CONNECTION ${Number(row['id'])}`);
        killed += 1;
      } catch {
        // The connection ended on its own between the listing and the kill.
      }
    }
    return killed;
  }

  private async variable(name: string): Promise<string> {
    const [rows] = await this.query(`SELECT @@global.${name} AS value`);
    return String(rows[0]?.['value'] ?? '');
  }

  private query(sql: string, values: unknown[] = []): Promise<[RowDataPacket[], unknown]> {
    return this.pool.query<RowDataPacket[]>({
      sql,
      values,
      timeout: shardNodeLimits.statementTimeoutMs,
    });
  }

  private async on(connection: PoolConnection, sql: string): Promise<void> {
    await connection.query({ sql, timeout: shardNodeLimits.statementTimeoutMs });
  }

  private async withConnection<T>(work: (connection: PoolConnection) => Promise<T>): Promise<T> {
    const connection = await this.pool.getConnection();
    try {
      return await work(connection);
    } finally {
      connection.release();
    }
  }
}
