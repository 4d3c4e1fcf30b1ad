import type { Pool, RowDataPacket } from 'mysql2/promise';

import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { createMysqlPool } from './mysql';

describe('mysql2 against a real cell primary and its semi-sync replica', () => {
  const infra = readInfraEndpoints();
  const cell = infra.cells[0];
  if (cell === undefined) throw new Error('the infrastructure has no cells');
  const table = uniqueName('replication_probe');
  let primary: Pool;
  let replica: Pool;

  beforeAll(() => {
    const endpoint = { ...infra.mysql, database: cell.database };
    primary = createMysqlPool({ ...endpoint, port: cell.primary.port });
    replica = createMysqlPool({ ...endpoint, port: cell.replica.port });
  });

  afterAll(async () => {
    await primary.query(`DROP TABLE IF EXISTS \`${table}\``);
    await Promise.all([primary.end(), replica.end()]);
  });

  it('runs on a primary with semi-synchronous AFTER_SYNC replication and GTIDs', async () => {
    // MariaDB and MySQL 8 name the same settings differently (master/source).
    const role = infra.flavor === 'mariadb' ? 'master' : 'source';
    const [rows] = await primary.query<RowDataPacket[]>(
      `SELECT @@rpl_semi_sync_${role}_enabled AS enabled,
              @@rpl_semi_sync_${role}_wait_point AS waitPoint,
              @@read_only AS readOnly`,
    );
    // Integer system variables come back as strings too (bigNumberStrings), like every BIGINT.
    expect(rows[0]).toEqual({ enabled: '1', waitPoint: 'AFTER_SYNC', readOnly: '0' });
    const [replicaRows] = await replica.query<RowDataPacket[]>('SELECT @@read_only AS readOnly');
    expect(replicaRows[0]).toEqual({ readOnly: '1' });

    // The primary's executed GTID set is non-empty (users were created through the binlog).
    const gtidVariable = infra.flavor === 'mariadb' ? 'gtid_binlog_pos' : 'gtid_executed';
    const [gtidRows] = await primary.query<RowDataPacket[]>(`SELECT @@${gtidVariable} AS gtids`);
    expect(String(gtidRows[0]?.['gtids'])).toMatch(/\d+-\d+-\d+|[0-9a-f-]{36}:\d+/);
  });

  it('commits a transaction on the primary that the replica then serves, BIGINT intact', async () => {
    // 2^63 - 1: a JS number would silently round it; the pool must hand back the exact digits.
    const amountMinor = 9_223_372_036_854_775_807n;
    await primary.query(
      `CREATE TABLE \`${table}\` (id BIGINT PRIMARY KEY, amount_minor BIGINT NOT NULL) ENGINE=InnoDB`,
    );
    const connection = await primary.getConnection();
    try {
      await connection.beginTransaction();
      await connection.execute(`INSERT INTO \`${table}\` (id, amount_minor) VALUES (?, ?)`, [
        1,
        amountMinor.toString(),
      ]);
      await connection.execute(`INSERT INTO \`${table}\` (id, amount_minor) VALUES (?, ?)`, [
        2,
        '-5',
      ]);
      await connection.commit();
    } finally {
      connection.release();
    }

    const replicated = await pollUntil(
      async () => {
        const [found] = await replica.query<RowDataPacket[]>(
          `SELECT id, amount_minor AS amountMinor FROM \`${table}\` ORDER BY id`,
        );
        return found.length === 2 ? found : undefined;
      },
      { description: 'rows replicated to the cell replica', timeoutMs: 15_000 },
    );
    expect(replicated).toEqual([
      { id: '1', amountMinor: amountMinor.toString() },
      { id: '2', amountMinor: '-5' },
    ]);
    expect(BigInt(replicated[0]?.['amountMinor'] as string)).toBe(amountMinor);
  });

  it('rolls back on the primary and the replica never sees the rolled-back row', async () => {
    const connection = await primary.getConnection();
    try {
      await connection.beginTransaction();
      await connection.execute(`INSERT INTO \`${table}\` (id, amount_minor) VALUES (3, 7)`);
      await connection.rollback();
    } finally {
      connection.release();
    }
    // A marker committed after the rollback: once the replica has it, it has everything before it.
    await primary.execute(`INSERT INTO \`${table}\` (id, amount_minor) VALUES (4, 1)`);
    await pollUntil(
      async () => {
        const [found] = await replica.query<RowDataPacket[]>(
          `SELECT id FROM \`${table}\` WHERE id = 4`,
        );
        return found.length === 1;
      },
      { description: 'marker row replicated', timeoutMs: 15_000 },
    );
    const [rolledBack] = await replica.query<RowDataPacket[]>(
      `SELECT id FROM \`${table}\` WHERE id = 3`,
    );
    expect(rolledBack).toHaveLength(0);
  });
});
