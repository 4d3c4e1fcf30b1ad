import type { Pool, RowDataPacket } from 'mysql2/promise';

import type { CellTableSet } from './table-set';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (tables: CellTableSet) => readonly string[];
}

/**
 * The cell schema, versioned. A migration is never edited once released: a change is a new
 * version. Statements are written against a table set so the shadow copies get the same schema.
 * Money columns are BIGINT (signed 64-bit minor units); IDs are ASCII and compared byte-wise.
 */
export const cellMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, journals and payments',
    statements: (t) => [
      `CREATE TABLE ${t.accounts} (
        id VARCHAR(40) NOT NULL PRIMARY KEY,
        kind VARCHAR(24) NOT NULL,
        owner_id VARCHAR(64) NOT NULL,
        currency CHAR(3) NOT NULL,
        allow_negative TINYINT NOT NULL,
        balance_minor BIGINT NOT NULL,
        held_minor BIGINT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        UNIQUE KEY uq_account_owner (kind, owner_id, currency)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.journals} (
        id VARCHAR(40) NOT NULL PRIMARY KEY,
        kind VARCHAR(24) NOT NULL,
        reference_id VARCHAR(40) NOT NULL,
        reverses_journal_id VARCHAR(40) NULL,
        created_at DATETIME(3) NOT NULL,
        KEY ix_journal_reference (reference_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.journalLines} (
        sequence BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        journal_id VARCHAR(40) NOT NULL,
        line_number INT NOT NULL,
        account_id VARCHAR(40) NOT NULL,
        direction ENUM('debit', 'credit') NOT NULL,
        amount_minor BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        UNIQUE KEY uq_journal_line (journal_id, line_number),
        KEY ix_line_account (account_id, sequence)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.payments} (
        id VARCHAR(40) NOT NULL PRIMARY KEY,
        merchant_id VARCHAR(64) NOT NULL,
        out_trade_no VARCHAR(64) NOT NULL,
        payer_account_id VARCHAR(40) NOT NULL,
        payee_account_id VARCHAR(40) NOT NULL,
        currency CHAR(3) NOT NULL,
        amount_minor BIGINT NOT NULL,
        captured_minor BIGINT NOT NULL,
        refunded_minor BIGINT NOT NULL,
        status VARCHAR(20) NOT NULL,
        hold_id VARCHAR(40) NULL,
        authorization_expires_at DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        UNIQUE KEY uq_payment_out_trade_no (merchant_id, out_trade_no),
        KEY ix_payment_authorization_lapse (status, authorization_expires_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.refunds} (
        id VARCHAR(40) NOT NULL PRIMARY KEY,
        payment_id VARCHAR(40) NOT NULL,
        merchant_id VARCHAR(64) NOT NULL,
        out_refund_no VARCHAR(64) NOT NULL,
        amount_minor BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        journal_id VARCHAR(40) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        UNIQUE KEY uq_refund_out_refund_no (merchant_id, out_refund_no),
        KEY ix_refund_payment (payment_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.holds} (
        id VARCHAR(40) NOT NULL PRIMARY KEY,
        account_id VARCHAR(40) NOT NULL,
        amount_minor BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        captured_minor BIGINT NOT NULL,
        status VARCHAR(12) NOT NULL,
        expires_at DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        KEY ix_hold_expiry (status, expires_at),
        KEY ix_hold_account (account_id, status)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.transfers} (
        id VARCHAR(40) NOT NULL PRIMARY KEY,
        kind VARCHAR(16) NOT NULL,
        from_account_id VARCHAR(40) NOT NULL,
        to_account_id VARCHAR(40) NOT NULL,
        amount_minor BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        journal_id VARCHAR(40) NOT NULL,
        created_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.idempotencyKeys} (
        scope VARCHAR(80) NOT NULL,
        idem_key VARCHAR(80) NOT NULL,
        request_hash CHAR(64) NOT NULL,
        response_json MEDIUMTEXT NOT NULL,
        PRIMARY KEY (scope, idem_key)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 2,
    name: 'general ledger',
    statements: (t) => [
      `CREATE TABLE ${t.glVouchers} (
        journal_id VARCHAR(40) NOT NULL PRIMARY KEY,
        business_day CHAR(10) NOT NULL,
        posted_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.glVoucherLines} (
        journal_id VARCHAR(40) NOT NULL,
        line_number INT NOT NULL,
        business_day CHAR(10) NOT NULL,
        subject_code VARCHAR(8) NOT NULL,
        direction ENUM('debit', 'credit') NOT NULL,
        amount_minor BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        PRIMARY KEY (journal_id, line_number),
        KEY ix_voucher_line_day (business_day, subject_code, currency)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      `CREATE TABLE ${t.glDayCloses} (
        business_day CHAR(10) NOT NULL,
        subject_code VARCHAR(8) NOT NULL,
        currency CHAR(3) NOT NULL,
        debit_minor BIGINT NOT NULL,
        credit_minor BIGINT NOT NULL,
        closing_minor BIGINT NOT NULL,
        PRIMARY KEY (business_day, subject_code, currency)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
      // One row per closed day, so a day without movements is closed (and closed once) too.
      `CREATE TABLE ${t.glClosedDays} (
        business_day CHAR(10) NOT NULL PRIMARY KEY,
        closed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`,
    ],
  },
];

/** How long a migrator waits for another one working on the same shard. */
const migrationLockWaitSeconds = 60;

/**
 * Applies the missing migrations to one shard, in version order, under a named lock so two
 * processes never migrate the same shard at once. Returns the versions it applied.
 */
export async function migrateCellShard(pool: Pool, tables: CellTableSet): Promise<number[]> {
  const connection = await pool.getConnection();
  const lockName = `cellpay_migrate_${tables.prefix}cell`;
  try {
    const [locked] = await connection.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS locked', [
      lockName,
      migrationLockWaitSeconds,
    ]);
    if (String(locked[0]?.['locked']) !== '1') {
      throw new Error(`another migrator holds ${lockName}`);
    }
    await connection.query(
      `CREATE TABLE IF NOT EXISTS ${tables.migrations} (
        version INT NOT NULL PRIMARY KEY,
        name VARCHAR(200) NOT NULL,
        applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB`,
    );
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT version FROM ${tables.migrations}`,
    );
    const applied = new Set(rows.map((row) => Number(row['version'])));
    const newlyApplied: number[] = [];
    for (const migration of cellMigrations) {
      if (applied.has(migration.version)) continue;
      // DDL commits implicitly in MySQL; the version row is written after its statements, and
      // every statement is idempotent-by-version (a failed run is repaired by hand, never guessed).
      for (const statement of migration.statements(tables)) await connection.query(statement);
      await connection.query(`INSERT INTO ${tables.migrations} (version, name) VALUES (?, ?)`, [
        migration.version,
        migration.name,
      ]);
      newlyApplied.push(migration.version);
    }
    return newlyApplied;
  } finally {
    await connection.query('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
    connection.release();
  }
}

export const cellSchemaVersion = Math.max(...cellMigrations.map((migration) => migration.version));
