import type { Pool, RowDataPacket } from 'mysql2/promise';

import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { applyMigrations, MigrationError, type Migration } from './migrations';
import { createMysqlPool } from './mysql';

describe('applyMigrations against real MariaDB', () => {
  const infra = readInfraEndpoints();
  const database = uniqueName('migrations');
  let admin: Pool;
  let pool: Pool;

  const v1: Migration = {
    version: 1,
    name: 'accounts',
    statements: ['CREATE TABLE IF NOT EXISTS accounts (id BIGINT PRIMARY KEY) ENGINE=InnoDB'],
  };
  const v2: Migration = {
    version: 2,
    name: 'balances',
    statements: ['ALTER TABLE accounts ADD COLUMN balance_minor BIGINT NOT NULL DEFAULT 0'],
  };

  beforeAll(async () => {
    admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${database}\``);
    pool = createMysqlPool({ ...infra.mysql, port: infra.global.port, database });
  });

  afterAll(async () => {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  it('applies pending versions in order, once, even with concurrent runners', async () => {
    const reports = await Promise.all([
      applyMigrations(pool, [v2, v1], database),
      applyMigrations(pool, [v1, v2], database),
    ]);
    expect(reports.map((report) => report.applied).sort()).toEqual([[], [1, 2]]);
    const [columns] = await pool.query<RowDataPacket[]>('SHOW COLUMNS FROM accounts');
    expect(columns.map((column) => column['Field'])).toEqual(['id', 'balance_minor']);
    expect(await applyMigrations(pool, [v1, v2], database)).toEqual({
      applied: [],
      alreadyApplied: [1, 2],
    });
  });

  it('refuses a migration whose text changed after it was applied', async () => {
    const edited = { ...v1, statements: ['CREATE TABLE accounts (id INT PRIMARY KEY)'] };
    await expect(applyMigrations(pool, [edited, v2], database)).rejects.toThrow(
      /version 1 \(accounts\) was changed after it was applied/,
    );
  });

  it('refuses to run against a schema newer than the build', async () => {
    await expect(applyMigrations(pool, [v1], database)).rejects.toThrow(MigrationError);
    await expect(applyMigrations(pool, [v1], database)).rejects.toThrow(/version 2/);
  });
});
