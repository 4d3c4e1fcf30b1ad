import type { Pool, RowDataPacket } from 'mysql2/promise';

import { createMysqlPool, type MysqlEndpoint } from '@cellpay/connections';

/** Bounds of the test's write load: it must end even if the shard never comes back. */
export interface WriteLoadLimits {
  readonly writersCount: number;
  readonly writesPerWriterMax: number;
  readonly durationMsMax: number;
  readonly retryDelayMs: number;
}

export const writeLoadTable = 'failover_probe.acknowledged';

/**
 * Several connections each committing small transactions in a loop against whatever `target()`
 * names (the test's stand-in for routing). A write counts as acknowledged only when its COMMIT
 * returned; a failed attempt is retried with the same key, and the upsert makes a retry of a
 * commit whose outcome was unknown harmless.
 */
export class WriteLoad {
  readonly acknowledged = new Set<string>();
  readonly errorsByCode = new Map<string, number>();
  /** Per writer, the longest time between two acknowledged writes: what a client felt. */
  private readonly longestGapMs: number[] = [];
  private stopped = false;
  private readonly pools = new Map<number, Pool>();
  private running: Promise<void>[] = [];

  constructor(
    private readonly target: () => MysqlEndpoint,
    private readonly limits: WriteLoadLimits,
  ) {}

  get longestUnavailableMs(): number {
    return Math.max(0, ...this.longestGapMs);
  }

  start(): void {
    const deadline = Date.now() + this.limits.durationMsMax;
    this.running = Array.from({ length: this.limits.writersCount }, (_, writer) =>
      this.write(writer, deadline),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
    await Promise.all([...this.pools.values()].map((pool) => pool.end()));
  }

  /** Keys of the acknowledged writes missing from `pool`'s copy of the table. */
  async missingOn(pool: Pool): Promise<string[]> {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT CONCAT(writer, ':', sequence) AS k FROM ${writeLoadTable}`,
    );
    const present = new Set(rows.map((row) => String(row['k'])));
    return [...this.acknowledged].filter((key) => !present.has(key));
  }

  private async write(writer: number, deadline: number): Promise<void> {
    let lastAcknowledgedAt = Date.now();
    this.longestGapMs[writer] = 0;
    for (let sequence = 0; sequence < this.limits.writesPerWriterMax; sequence += 1) {
      for (;;) {
        if (this.stopped || Date.now() > deadline) return;
        try {
          await this.commitOne(writer, sequence);
          const now = Date.now();
          this.longestGapMs[writer] = Math.max(
            this.longestGapMs[writer] ?? 0,
            now - lastAcknowledgedAt,
          );
          lastAcknowledgedAt = now;
          this.acknowledged.add(`${writer}:${sequence}`);
          break;
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'unknown';
          this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, this.limits.retryDelayMs));
        }
      }
    }
  }

  private async commitOne(writer: number, sequence: number): Promise<void> {
    const connection = await this.pool(this.target()).getConnection();
    try {
      await connection.query({ sql: 'START TRANSACTION', timeout: 15_000 });
      await connection.query({
        sql: `INSERT INTO ${writeLoadTable} (writer, sequence) VALUES (?, ?)
              ON DUPLICATE KEY UPDATE sequence = sequence`,
        values: [writer, sequence],
        timeout: 15_000,
      });
      await connection.query({ sql: 'COMMIT', timeout: 15_000 });
    } catch (error) {
      connection.destroy();
      throw error;
    }
    connection.release();
  }

  private pool(endpoint: MysqlEndpoint): Pool {
    let pool = this.pools.get(endpoint.port);
    if (pool === undefined) {
      pool = createMysqlPool(endpoint, {
        connectionsMax: this.limits.writersCount,
        queuedRequestsMax: this.limits.writersCount * 2,
        connectTimeoutMs: 1_000,
      });
      this.pools.set(endpoint.port, pool);
    }
    return pool;
  }
}
