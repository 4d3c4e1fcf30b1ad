import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Metadata, status } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

import { liveTables, shadowTables } from '@cellpay/cell-data-access';
import { call, cellClients, type Client, freePort, type GrpcError } from '@cellpay/cell-testing';
import { applyMigrations, createMysqlPool, createRedis } from '@cellpay/connections';
import {
  globalMigrations,
  publishSwitches,
  RoutingStore,
  switchRedisKeys,
  SwitchStore,
} from '@cellpay/global-data-access';
import { requestContextMetadata } from '@cellpay/observability';
import { cellOverloadedReason, decodeErrorStatus } from '@cellpay/proto';
import { evenlySpreadSnapshot } from '@cellpay/routing';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

const root = resolve(__dirname, '../../..');
/** The bounds this cell runs with: small, so a few hundred calls are a flood. */
const writesInFlightMax = 4;
const writesQueueLengthMax = 4;
const queueWaitMsMax = 200;
/** Calls sent at once in the flood, and their deadline (the gateway's default). */
const floodSize = 120;
const deadlineMs = 3_000;
const amountMinor = 7n;

interface Outcome {
  readonly requestId: string;
  readonly elapsedMs: number;
  readonly error?: { code: number; reason: string; cause: string };
}

function refusalOf(error: GrpcError): { code: number; reason: string; cause: string } {
  const details = error.metadata.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(details)) return { code: error.code, reason: '', cause: '' };
  const decoded = decodeErrorStatus(details);
  return { code: error.code, reason: decoded.reason, cause: decoded.metadata['cause'] ?? '' };
}

/** One call with a deadline, resolved with its outcome rather than rejected. */
function timedCall(
  client: Client,
  method: string,
  request: object,
  requestId: string,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  const startedAt = performance.now();
  return new Promise((resolveOutcome) => {
    const handler = client[method];
    if (handler === undefined) throw new Error(`no method ${method}`);
    (
      handler as unknown as (
        request: object,
        metadata: Metadata,
        options: { deadline: number },
        callback: (error: GrpcError | null) => void,
      ) => void
    ).call(client, request, metadata, { deadline: Date.now() + deadlineMs }, (error) =>
      resolveOutcome({
        requestId,
        elapsedMs: performance.now() - startedAt,
        ...(error ? { error: refusalOf(error) } : {}),
      }),
    );
  });
}

describe('a real cell process under a flood, and following the stress switch', () => {
  const infra = readInfraEndpoints();
  const shardPort = infra.cells[0]?.primary.port ?? 0;
  const cellDatabase = uniqueName('cell_admission');
  const globalDatabase = uniqueName('global_admission');
  const redisPrefix = uniqueName('adm').toLowerCase();
  const adminUrl = (port: number, database: string): string =>
    `mysql://${infra.mysql.user}:${infra.mysql.password}@127.0.0.1:${port}/${database}`;
  const workDir = mkdtempSync(join(tmpdir(), 'cellpay-admission-'));
  let shardAdmin: Pool;
  let shard: Pool;
  let globalAdmin: Pool;
  let globalPool: Pool;
  let redis: Redis;
  let cell: ChildProcess | undefined;
  let accounts: Client;
  let opsPort = 0;
  let fundingId = '';
  let walletId = '';

  const topUp = (requestId: string, headers: Record<string, string> = {}) =>
    timedCall(
      accounts,
      'topUp',
      {
        clientId: 'admission-flood',
        requestId,
        fromAccountId: fundingId,
        toAccountId: walletId,
        amountMinor: amountMinor.toString(),
        currency: 'CNY',
      },
      requestId,
      headers,
    );
  const balance = async (): Promise<bigint> =>
    BigInt(String((await call(accounts, 'getBalance', { accountId: walletId }))['balanceMinor']));
  const count = async (table: string): Promise<number> => {
    const [rows] = await shard.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
    return Number(rows[0]?.['n'] ?? 0);
  };

  beforeAll(async () => {
    execFileSync(process.execPath, ['tools/scripts/build-app.mjs', 'apps/cell'], {
      cwd: root,
      stdio: 'ignore',
    });
    shardAdmin = createMysqlPool({ ...infra.mysql, port: shardPort });
    await shardAdmin.query(`CREATE DATABASE \`${cellDatabase}\``);
    execFileSync(process.execPath, ['dist/apps/cell/main.js', 'migrate'], {
      cwd: root,
      env: {
        ...process.env,
        CELLPAY_CELL_ID: 'cell-1',
        CELLPAY_MYSQL_URL: adminUrl(shardPort, cellDatabase),
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    shard = createMysqlPool({ ...infra.mysql, port: shardPort, database: cellDatabase });
    globalAdmin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await globalAdmin.query(`CREATE DATABASE \`${globalDatabase}\``);
    globalPool = createMysqlPool({
      ...infra.mysql,
      port: infra.global.port,
      database: globalDatabase,
    });
    await applyMigrations(globalPool, globalMigrations, globalDatabase);
    await new RoutingStore(globalPool).initialize(
      evenlySpreadSnapshot(
        [
          {
            cellId: 'cell-1',
            homeRegion: 'region-a',
            standbyRegion: 'region-b',
            activeRegion: 'region-a',
            state: 'active',
          },
        ],
        100,
      ),
      'admission-test',
    );
    redis = createRedis(infra.redis);

    const port = await freePort();
    const logFile = join(workDir, 'cell-1.log');
    const log = openSync(logFile, 'a');
    cell = spawn(process.execPath, [join(root, 'dist/apps/cell/main.js'), 'serve'], {
      cwd: root,
      env: {
        ...process.env,
        CELLPAY_CELL_ID: 'cell-1',
        CELLPAY_MYSQL_URL: adminUrl(shardPort, cellDatabase),
        CELLPAY_GRPC_PORT: String(port),
        CELLPAY_OPS_PORT: '0',
        CELLPAY_GLOBAL_MYSQL_URL: adminUrl(infra.global.port, globalDatabase),
        CELLPAY_REDIS_URL: `redis://${infra.redis.host}:${infra.redis.port}`,
        CELLPAY_REDIS_PREFIX: redisPrefix,
        CELLPAY_ADMISSION_WRITES_IN_FLIGHT_MAX: String(writesInFlightMax),
        CELLPAY_ADMISSION_WRITES_QUEUE_LENGTH_MAX: String(writesQueueLengthMax),
        CELLPAY_ADMISSION_QUEUE_WAIT_MS_MAX: String(queueWaitMsMax),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const readLog = (): string => readFileSync(logFile, 'utf8');
    await pollUntil(() => readLog().includes('cell gRPC server listening'), {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: `the cell listens (log: ${logFile})`,
    });
    const opsLine = readLog()
      .split('\n')
      .find((line) => line.includes('cell ops server listening'));
    opsPort = Number((JSON.parse(opsLine ?? '{}') as { port?: number }).port ?? 0);
    ({ accounts } = cellClients(`127.0.0.1:${port}`));
    const funding = await call(accounts, 'openAccount', {
      kind: 'external_funding',
      ownerId: 'bank',
      currency: 'CNY',
    });
    const wallet = await call(accounts, 'openAccount', {
      kind: 'user_wallet',
      ownerId: 'flooded-user',
      currency: 'CNY',
    });
    fundingId = String(funding['accountId']);
    walletId = String(wallet['accountId']);
  });

  afterAll(async () => {
    accounts?.close();
    if (cell !== undefined && cell.exitCode === null) {
      const exited = new Promise((resolveExit) => cell?.once('exit', resolveExit));
      cell.kill('SIGTERM');
      await exited;
    }
    const keys = switchRedisKeys(redisPrefix);
    await redis?.del(keys.document, keys.version);
    redis?.disconnect();
    await shard?.end();
    await shardAdmin?.query(`DROP DATABASE IF EXISTS \`${cellDatabase}\``);
    await shardAdmin?.end();
    await globalPool?.end();
    await globalAdmin?.query(`DROP DATABASE IF EXISTS \`${globalDatabase}\``);
    await globalAdmin?.end();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('refuses the calls over its bound at once with cell_overloaded and no effect, serves the rest, and serves again after', async () => {
    const transfersBefore = await count(liveTables.transfers);
    const keysBefore = await count(liveTables.idempotencyKeys);
    const outcomes = await Promise.all(
      Array.from({ length: floodSize }, (_, index) => topUp(`flood-${index}`)),
    );
    const succeeded = outcomes.filter((outcome) => outcome.error === undefined);
    const refused = outcomes.filter((outcome) => outcome.error !== undefined);

    // Every call either succeeded or was refused for overload: no deadline, no other error.
    expect(succeeded.length).toBeGreaterThanOrEqual(writesInFlightMax);
    expect(refused.length).toBeGreaterThan(floodSize / 2);
    for (const outcome of refused) {
      expect(outcome.error).toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        reason: cellOverloadedReason,
      });
    }
    // Refused fast: at most the queue wait plus scheduling on a busy machine, never the deadline.
    const slowestRefusalMs = Math.max(...refused.map((outcome) => outcome.elapsedMs));
    expect(slowestRefusalMs).toBeLessThan(queueWaitMsMax + 1_500);
    expect(
      refused.filter((outcome) => outcome.error?.cause === 'queue_full').length,
    ).toBeGreaterThan(0);

    // No effect from refused calls: one transfer and one idempotency key per success, no more.
    expect(await balance()).toBe(BigInt(succeeded.length) * amountMinor);
    expect(await count(liveTables.transfers)).toBe(transfersBefore + succeeded.length);
    expect(await count(liveTables.idempotencyKeys)).toBe(keysBefore + succeeded.length);

    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    const refusalsCounted = [
      ...metrics.matchAll(/^cellpay_admission_refusals_total\{[^}]*class="write"[^}]*\} (\d+)$/gm),
    ]
      .map((match) => Number(match[1]))
      .reduce((sum, value) => sum + value, 0);
    expect(refusalsCounted).toBe(refused.length);
    expect(metrics).toMatch(/^cellpay_admission_in_flight\{cell="cell-1",class="write"\} 0$/m);

    // Load stopped: the cell serves again, and each refused key runs now for the first time.
    for (const outcome of refused) {
      const retried = await topUp(outcome.requestId);
      expect(retried.error).toBeUndefined();
    }
    expect(await balance()).toBe(BigInt(floodSize) * amountMinor);
    expect(await count(liveTables.transfers)).toBe(transfersBefore + floodSize);
  });

  it('refuses stress traffic within a second of the switch, before any work, and lets it through when unset', async () => {
    const switches = new SwitchStore(globalPool);
    const keys = switchRedisKeys(redisPrefix);
    const stress = { [requestContextMetadata.stress]: '1' };
    let opened = 0;
    const openShadowWallet = () =>
      timedCall(
        accounts,
        'openAccount',
        { kind: 'user_wallet', ownerId: `shadow-user-${(opened += 1)}`, currency: 'CNY' },
        'shadow-open',
        stress,
      );
    expect((await openShadowWallet()).error).toBeUndefined();

    const flippedAt = Date.now();
    await publishSwitches(redis, keys, await switches.set('stress_traffic_rejected', true, 'sre'));
    await pollUntil(
      async () => (await openShadowWallet()).error?.reason === 'stress_traffic_rejected',
      { timeoutMs: 1_000, intervalMs: 20, description: 'the cell refuses stress traffic' },
    );
    expect(Date.now() - flippedAt).toBeLessThan(1_000);
    const shadowAccounts = await count(shadowTables.accounts);
    const refused = await openShadowWallet();
    expect(refused.error).toEqual({
      code: status.UNAVAILABLE,
      reason: 'stress_traffic_rejected',
      cause: 'switch',
    });
    expect(await count(shadowTables.accounts)).toBe(shadowAccounts);
    // Live traffic is not touched by the switch.
    expect((await topUp(`live-under-switch-${Date.now()}`)).error).toBeUndefined();

    const unflippedAt = Date.now();
    await publishSwitches(redis, keys, await switches.set('stress_traffic_rejected', false, 'sre'));
    await pollUntil(async () => (await openShadowWallet()).error === undefined, {
      timeoutMs: 1_000,
      intervalMs: 20,
      description: 'the cell lets stress traffic through again',
    });
    expect(Date.now() - unflippedAt).toBeLessThan(1_000);
  });
});
