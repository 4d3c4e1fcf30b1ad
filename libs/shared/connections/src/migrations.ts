import { createHash } from 'node:crypto';

import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

export interface Migration {
  /** Strictly increasing, never reused. */
  readonly version: number;
  readonly name: string;
  /** Statements run in order. MySQL commits DDL implicitly, so each should be safe to re-run. */
  readonly statements: readonly string[];
}

export interface MigrationReport {
  readonly applied: readonly number[];
  readonly alreadyApplied: readonly number[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(`migrations: ${message}`);
    this.name = 'MigrationError';
  }
}

export interface MigrationOptions {
  /** The table that records applied versions; one per independently versioned schema. */
  readonly historyTable?: string;
  /** How long to wait for another runner working on the same schema. */
  readonly lockWaitSeconds?: number;
}

const historyTablePattern = /^[A-Za-z0-9_]{1,64}$/;

function checksumOf(migration: Migration): string {
  return createHash('sha256').update(migration.statements.join('\n;\n'), 'utf8').digest('hex');
}

/**
 * Applies versioned migrations to one schema. A named lock keeps concurrent runners (several pods
 * starting at once) from interleaving; an applied migration whose text changed is refused, because
 * a schema that differs from its history is worse than one that is behind.
 */
export async function applyMigrations(
  pool: Pool,
  migrations: readonly Migration[],
  lockName: string,
  options: MigrationOptions = {},
): Promise<MigrationReport> {
  const historyTable = options.historyTable ?? 'schema_migrations';
  const lockWaitSeconds = options.lockWaitSeconds ?? 30;
  if (!historyTablePattern.test(historyTable)) {
    throw new MigrationError(`history table name ${historyTable} is not a plain identifier`);
  }
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  ordered.forEach((migration, index) => {
    const previous = ordered[index - 1];
    if (previous !== undefined && previous.version === migration.version) {
      throw new MigrationError(`version ${migration.version} is defined twice`);
    }
  });
  const connection = await pool.getConnection();
  try {
    const [locked] = await connection.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS locked', [
      lockName,
      lockWaitSeconds,
    ]);
    if (String(locked[0]?.['locked']) !== '1') {
      throw new MigrationError(`could not take lock ${lockName} within ${lockWaitSeconds} s`);
    }
    try {
      return await applyLocked(connection, ordered, historyTable);
    } finally {
      await connection.query('SELECT RELEASE_LOCK(?)', [lockName]);
    }
  } finally {
    connection.release();
  }
}

async function applyLocked(
  connection: PoolConnection,
  ordered: readonly Migration[],
  historyTable: string,
): Promise<MigrationReport> {
  await connection.query(
    `CREATE TABLE IF NOT EXISTS ${historyTable} (
       version INT NOT NULL PRIMARY KEY,
       name VARCHAR(200) NOT NULL,
       checksum CHAR(64) NOT NULL,
       applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
     ) ENGINE=InnoDB`,
  );
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT version, checksum FROM ${historyTable} ORDER BY version`,
  );
  const history = new Map(rows.map((row) => [Number(row['version']), String(row['checksum'])]));
  const known = new Set(ordered.map((migration) => migration.version));
  for (const version of history.keys()) {
    if (!known.has(version)) {
      throw new MigrationError(`the schema has version ${version}, which this build does not know`);
    }
  }
  const applied: number[] = [];
  const alreadyApplied: number[] = [];
  for (const migration of ordered) {
    const checksum = checksumOf(migration);
    const recorded = history.get(migration.version);
    if (recorded !== undefined) {
      if (recorded !== checksum) {
        throw new MigrationError(
          `version ${migration.version} (${migration.name}) was changed after it was applied`,
        );
      }
      alreadyApplied.push(migration.version);
      continue;
    }
    for (const statement of migration.statements) await connection.query(statement);
    await connection.query(
      `INSERT INTO ${historyTable} (version, name, checksum) VALUES (?, ?, ?)`,
      [migration.version, migration.name, checksum],
    );
    applied.push(migration.version);
  }
  return { applied, alreadyApplied };
}
