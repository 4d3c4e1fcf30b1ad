import type { Pool } from 'mysql2/promise';

import { applyMigrations } from '@cellpay/connections';

/** The names of settlement's tables in a shard; `prefix` is `shadow_` for stress traffic. */
export interface SettlementTableSet {
  readonly prefix: string;
  readonly migrations: string;
  readonly outbox: string;
  readonly inbox: string;
  readonly sagas: string;
}

export function settlementTableSet(prefix = ''): SettlementTableSet {
  return {
    prefix,
    migrations: `${prefix}settlement_schema_migrations`,
    outbox: `${prefix}settlement_outbox`,
    inbox: `${prefix}settlement_inbox`,
    sagas: `${prefix}settlement_sagas`,
  };
}

interface SettlementMigration {
  readonly version: number;
  readonly name: string;
  readonly statements: (tables: SettlementTableSet) => readonly string[];
}

/**
 * Settlement owns its tables in each cell's shard and their history (its own migrations table),
 * so the cell core's schema versions and these never interleave. Released versions are never edited.
 */
export const settlementMigrations: readonly SettlementMigration[] = [
  {
    version: 1,
    name: 'outbox, inbox and sagas',
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.outbox} (
        sequence BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        event_id VARCHAR(128) NOT NULL,
        event_type VARCHAR(32) NOT NULL,
        destination_cell_id VARCHAR(16) NOT NULL,
        event_json TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        published TINYINT NOT NULL DEFAULT 0,
        published_at DATETIME(3) NULL,
        UNIQUE KEY uq_outbox_event (event_id),
        KEY ix_outbox_unpublished (published, sequence),
        KEY ix_outbox_type (event_type, sequence)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      `CREATE TABLE IF NOT EXISTS ${t.inbox} (
        event_id VARCHAR(128) NOT NULL PRIMARY KEY,
        event_type VARCHAR(32) NOT NULL,
        source_cell_id VARCHAR(16) NOT NULL,
        saga_id VARCHAR(128) NOT NULL,
        amount_minor BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        outcome VARCHAR(200) NOT NULL,
        applied_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE IF NOT EXISTS ${t.sagas} (
        saga_id VARCHAR(40) NOT NULL PRIMARY KEY,
        kind VARCHAR(12) NOT NULL,
        state VARCHAR(12) NOT NULL,
        counterparty_cell_id VARCHAR(16) NOT NULL,
        payment_id VARCHAR(40) NULL,
        amount_minor BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        reason VARCHAR(200) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        KEY ix_saga_payment (payment_id, state)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
    ],
  },
];

/** How long a migrator waits for another one working on the same shard. */
const migrationLockWaitSeconds = 60;

/** Applies settlement's missing migrations to one shard under a named lock; returns the versions. */
export async function migrateSettlementShard(
  pool: Pool,
  tables: SettlementTableSet = settlementTableSet(),
): Promise<number[]> {
  const report = await applyMigrations(
    pool,
    settlementMigrations.map((migration) => ({
      version: migration.version,
      name: migration.name,
      statements: migration.statements(tables),
    })),
    `cellpay_migrate_${tables.prefix}settlement`,
    { historyTable: tables.migrations, lockWaitSeconds: migrationLockWaitSeconds },
  );
  return [...report.applied];
}
