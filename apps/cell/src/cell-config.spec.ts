import { mysqlEndpointOf } from '@cellpay/connections';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { admissionSettingsOf, readCellConfig } from './cell-config';
import { shardsToMigrate } from './commands/migrate.command';

const url = 'mysql://cellpay:s%40cret@127.0.0.1:3411/cellpay_cell_1';

describe('cell configuration', () => {
  it('reads defaults and parses the shard URL', () => {
    const config = readCellConfig({ CELLPAY_MYSQL_URL: url });
    expect(config).toMatchObject({
      CELLPAY_CELL_ID: 'cell-1',
      CELLPAY_GRPC_PORT: 50_061,
      CELLPAY_STORE: 'mysql',
      CELLPAY_GL_POSTING_DEFERRED: false,
    });
    expect(mysqlEndpointOf(url)).toEqual({
      host: '127.0.0.1',
      port: 3411,
      user: 'cellpay',
      password: 's@cret',
      database: 'cellpay_cell_1',
    });
  });

  it('derives the admission bounds from the shard pool unless each is given', () => {
    const derived = admissionSettingsOf(
      readCellConfig({ CELLPAY_MYSQL_URL: url, CELLPAY_MYSQL_CONNECTIONS_MAX: '10' }),
    );
    expect(derived.writes).toMatchObject({
      inFlightMax: 10,
      queueLengthMax: 20,
      queueWaitMsMax: 250,
    });
    expect(derived.reads).toMatchObject({ inFlightMax: 20, queueLengthMax: 40 });
    const given = admissionSettingsOf(
      readCellConfig({
        CELLPAY_MYSQL_URL: url,
        CELLPAY_ADMISSION_WRITES_IN_FLIGHT_MAX: '4',
        CELLPAY_ADMISSION_WRITES_QUEUE_LENGTH_MAX: '3',
        CELLPAY_ADMISSION_READS_IN_FLIGHT_MAX: '9',
        CELLPAY_ADMISSION_READS_QUEUE_LENGTH_MAX: '1',
        CELLPAY_ADMISSION_QUEUE_WAIT_MS_MAX: '100',
      }),
    );
    expect(given.writes).toMatchObject({ inFlightMax: 4, queueLengthMax: 3, queueWaitMsMax: 100 });
    expect(given.reads).toMatchObject({ inFlightMax: 9, queueLengthMax: 1, queueWaitMsMax: 100 });
    expect(() =>
      readCellConfig({ CELLPAY_MYSQL_URL: url, CELLPAY_ADMISSION_WRITES_IN_FLIGHT_MAX: '-1' }),
    ).toThrow(/CELLPAY_ADMISSION_WRITES_IN_FLIGHT_MAX/);
  });

  it('stops on a bad value with a message naming the variable', () => {
    expect(() => readCellConfig({})).toThrow(/CELLPAY_MYSQL_URL: is required/);
    expect(() => readCellConfig({ CELLPAY_MYSQL_URL: url, CELLPAY_GRPC_PORT: '70000' })).toThrow(
      /CELLPAY_GRPC_PORT/,
    );
    expect(() => readCellConfig({ CELLPAY_MYSQL_URL: url, CELLPAY_CELL_ID: 'cell one' })).toThrow(
      /CELLPAY_CELL_ID/,
    );
    expect(() =>
      readCellConfig({ CELLPAY_STORE: 'memory', CELLPAY_GL_POSTING_DEFERRED: 'maybe' }),
    ).toThrow(/CELLPAY_GL_POSTING_DEFERRED/);
    expect(() => mysqlEndpointOf('mysql://127.0.0.1:3411/')).toThrow(/CELLPAY_MYSQL_URL/);
  });

  it('reads commit batching off by default, and keeps its batches below the pool size', () => {
    expect(readCellConfig({ CELLPAY_MYSQL_URL: url })).toMatchObject({
      CELLPAY_COMMIT_BATCHING: false,
      CELLPAY_COMMIT_BATCH_SIZE_MAX: 8,
      CELLPAY_COMMIT_BATCH_WAIT_MS_MAX: 0,
      CELLPAY_COMMIT_BATCHES_IN_FLIGHT_MAX: 8,
    });
    expect(
      readCellConfig({
        CELLPAY_MYSQL_URL: url,
        CELLPAY_COMMIT_BATCHING: 'true',
        CELLPAY_COMMIT_BATCH_WAIT_MS_MAX: '2',
      }),
    ).toMatchObject({ CELLPAY_COMMIT_BATCHING: true, CELLPAY_COMMIT_BATCH_WAIT_MS_MAX: 2 });
    expect(() =>
      readCellConfig({
        CELLPAY_MYSQL_URL: url,
        CELLPAY_COMMIT_BATCHING: 'true',
        CELLPAY_MYSQL_CONNECTIONS_MAX: '8',
      }),
    ).toThrow(/CELLPAY_COMMIT_BATCHES_IN_FLIGHT_MAX: must be below/);
    expect(() =>
      readCellConfig({ CELLPAY_MYSQL_URL: url, CELLPAY_COMMIT_BATCH_WAIT_MS_MAX: '50' }),
    ).toThrow(/CELLPAY_COMMIT_BATCH_WAIT_MS_MAX/);
  });

  it('migrates every cell primary of an endpoints file, or the configured shard', () => {
    const folder = mkdtempSync(join(tmpdir(), 'cellpay-endpoints-'));
    try {
      const file = join(folder, 'endpoints.json');
      writeFileSync(
        file,
        JSON.stringify({
          mysql: { host: '127.0.0.1', user: 'u', password: 'p' },
          cells: [
            { id: 'cell-1', database: 'db1', primary: { port: 3411 }, replica: { port: 3412 } },
            { id: 'cell-2', database: 'db2', primary: { port: 3421 }, replica: { port: 3422 } },
          ],
        }),
      );
      const all = shardsToMigrate(readCellConfig({ CELLPAY_INFRA_ENDPOINTS_FILE: file }));
      expect(
        all.map((shard) => [shard.name, shard.endpoint.port, shard.endpoint.database]),
      ).toEqual([
        ['cell-1', 3411, 'db1'],
        ['cell-2', 3421, 'db2'],
      ]);
      const one = shardsToMigrate(
        readCellConfig({ CELLPAY_MYSQL_URL: url, CELLPAY_CELL_ID: 'cell-7' }),
      );
      expect(one).toEqual([{ name: 'cell-7', endpoint: mysqlEndpointOf(url) }]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
