import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Pool } from 'mysql2/promise';

import { CellFailover, type CellOperationContext } from '@cellpay/cell-failover';
import { applyMigrations, createKafka, createMysqlPool, createRedis } from '@cellpay/connections';
import {
  DrillPaymentTarget,
  plannedFailoverOperation,
  runDrill,
  ShardDrillVerifier,
  unplannedFailoverOperation,
  writeDrillReport,
  type DrillGateway,
  type DrillOperation,
  type DrillReport,
} from '@cellpay/drill';
import {
  cellTopologyOf,
  globalMigrations,
  primaryNodeOf,
  RoutingStore,
  TopologyStore,
} from '@cellpay/global-data-access';
import { evenlySpreadSnapshot } from '@cellpay/routing';
import { migrateSettlementShard } from '@cellpay/settlement-cell';
import { ensureSettlementTopics } from '@cellpay/settlement-messaging';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import {
  createCredential,
  DrillProcesses,
  freePort,
  openMerchantAccount,
  portAnswers,
} from './__tests__/drill-processes';
import { runCellctl } from './cellctl';
import { reconcileWithCellProcess } from './commands/drill.command';
import { startDedicatedShardPair, type DedicatedShardPair } from '@cellpay/control-plane-testing';

const root = join(__dirname, '..', '..', '..');
const cellDatabase = 'cellpay_cell_1';
const dataAccount = { user: 'cellpay_data', password: 'cellpay_data' };
// Two cores: a small load for a short time (the brief's bound is 50 payments/s and 20 s).
const drillLoad = { ratePerSecond: 20, durationSeconds: 12, operationAtSeconds: 4 };
/** How long a process gets to stop on SIGTERM before it is killed. */
const processStopMsMax = 20_000;

/**
 * Drills on real processes: a dedicated MariaDB pair (primary in region-a, semi-sync replica in
 * region-b), a real cell process and a real gateway process built from this repository, and the
 * shared global zone and Redis under unique names. The load goes through the gateway with the SDK.
 */
describe('cellctl drills on a dedicated shard pair through the real gateway and cell', () => {
  const infra = readInfraEndpoints();
  const globalDatabase = uniqueName('drill');
  const redisPrefix = uniqueName('drill');
  const workDir = mkdtempSync(join(tmpdir(), 'cellpay-drill-run-'));
  // Kept after the run (tmp/ is git-ignored): the runbook's sample report comes from here.
  const reportsDir = join(root, 'tmp', 'drill-reports', globalDatabase);
  const globalUrl = `mysql://${infra.mysql.user}:${infra.mysql.password}@${infra.mysql.host}:${infra.global.port}/${globalDatabase}`;
  const redisUrl = `redis://${infra.redis.host}:${infra.redis.port}`;
  const kek = Buffer.alloc(32, 9).toString('base64');
  const topicPrefix = uniqueName('drill');
  const env = {
    CELLPAY_GLOBAL_MYSQL_URL: globalUrl,
    CELLPAY_REDIS_URL: redisUrl,
    CELLPAY_KAFKA_BROKERS: infra.kafka.brokers.join(','),
    CELLPAY_REDIS_PREFIX: redisPrefix,
    CELLPAY_CREDENTIAL_KEK: kek,
    CELLPAY_ACTOR: 'drill-test',
    // Without --local, cellctl failover takes the shard accounts from the environment.
    CELLPAY_SHARD_ADMIN_USER: infra.mysql.user,
    CELLPAY_SHARD_ADMIN_PASSWORD: infra.mysql.password,
    CELLPAY_REPLICATION_USER: 'repl',
    CELLPAY_REPLICATION_PASSWORD: 'repl',
  };
  let pair: DedicatedShardPair;
  let globalAdmin: Pool;
  let globalPool: Pool;
  const redis = createRedis(infra.redis);
  const processes = new DrillProcesses(root, workDir);
  let gateway: DrillGateway;

  const node = (region: 'region-a' | 'region-b') =>
    region === 'region-a' ? pair.primary : pair.replica;

  async function cellctl(args: string[]): Promise<string> {
    const out: string[] = [];
    const code = await runCellctl(
      args,
      {
        out: (text) => out.push(text),
        err: (text) => out.push(text),
        confirm: async () => false,
      },
      env,
    );
    if (code !== 0) throw new Error(`cellctl ${args.join(' ')} failed: ${out.join('\n')}`);
    return out.join('\n');
  }

  function context(): CellOperationContext {
    return {
      routing: new RoutingStore(globalPool),
      topology: new TopologyStore(globalPool),
      redis,
      redisPrefix,
      shardAdmin: { user: infra.mysql.user, password: infra.mysql.password },
      replication: pair.replication,
      actor: 'drill-test',
      progress: (line) => console.log(line),
      monitorLimits: { probeIntervalMs: 250, probeTimeoutMs: 500, failuresToDeclareDead: 3 },
    };
  }

  function verifier(): ShardDrillVerifier {
    const primary = async () => {
      const current = primaryNodeOf(cellTopologyOf(await currentTopology(), 'cell-1'));
      return { ...infra.mysql, host: current.host, port: current.port, database: cellDatabase };
    };
    return new ShardDrillVerifier(primary, async () => {
      const endpoint = await primary();
      return reconcileWithCellProcess(
        join(root, 'dist/apps/cell/main.js'),
        'cell-1',
        `mysql://${endpoint.user}:${endpoint.password}@${endpoint.host}:${endpoint.port}/${cellDatabase}`,
      );
    });
  }

  async function currentTopology() {
    const document = await new TopologyStore(globalPool).load();
    if (document === undefined) throw new Error('the test loaded no topology');
    return document.value;
  }

  async function primaryRegion(): Promise<string> {
    return cellTopologyOf(await currentTopology(), 'cell-1').primaryRegion;
  }

  beforeAll(async () => {
    for (const app of ['apps/cell', 'apps/gateway', 'apps/relay']) {
      execFileSync(process.execPath, ['tools/scripts/build-app.mjs', app], {
        cwd: root,
        stdio: 'ignore',
      });
    }
    pair = startDedicatedShardPair(0);
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
      'drill-test',
    );
    const topology = new TopologyStore(globalPool);
    await topology.migrate();
    await topology.replace(
      [
        {
          cellId: 'cell-1',
          homeRegion: 'region-a',
          standbyRegion: 'region-b',
          primaryRegion: 'region-a',
          nodes: [
            { region: 'region-a', host: pair.primary.host, port: pair.primary.port },
            { region: 'region-b', host: pair.replica.host, port: pair.replica.port },
          ],
        },
      ],
      { actor: 'drill-test', action: 'topology.load', subject: 'test' },
    );
    const adminShardUrl = `mysql://${infra.mysql.user}:${infra.mysql.password}@127.0.0.1:${pair.primary.port}/${cellDatabase}`;
    execFileSync(process.execPath, ['dist/apps/cell/main.js', 'migrate'], {
      cwd: root,
      env: {
        ...process.env,
        CELLPAY_CELL_ID: 'cell-1',
        CELLPAY_MYSQL_URL: adminShardUrl,
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    const shardAdmin = createMysqlPool({
      ...infra.mysql,
      port: pair.primary.port,
      database: cellDatabase,
    });
    await migrateSettlementShard(shardAdmin);
    await shardAdmin.end();
    const kafkaAdmin = createKafka({
      brokers: infra.kafka.brokers,
      clientId: 'drill-test',
    }).admin();
    await kafkaAdmin.connect();
    await ensureSettlementTopics(kafkaAdmin, ['cell-1'], topicPrefix);
    await kafkaAdmin.disconnect();
    // The relay follows the topology too: after a failover it restarts on the new primary.
    processes.start('relay-cell-1', 'dist/apps/relay/main.js', {
      CELLPAY_CELL_ID: 'cell-1',
      CELLPAY_MYSQL_URL: `mysql://${dataAccount.user}:${dataAccount.password}@127.0.0.1:${pair.primary.port}/${cellDatabase}`,
      CELLPAY_GLOBAL_MYSQL_URL: globalUrl,
      CELLPAY_REDIS_URL: redisUrl,
      CELLPAY_REDIS_PREFIX: redisPrefix,
      CELLPAY_FOLLOW_TOPOLOGY: 'true',
      CELLPAY_KAFKA_BROKERS: infra.kafka.brokers.join(','),
      CELLPAY_KAFKA_TOPIC_PREFIX: topicPrefix,
      CELLPAY_OPS_PORT: '0',
      LOG_LEVEL: 'info',
    });
    const cellPort = await freePort();
    processes.start('cell-1', 'dist/apps/cell/main.js', {
      CELLPAY_CELL_ID: 'cell-1',
      // The data-only account: the fence (read_only) stops it.
      CELLPAY_MYSQL_URL: `mysql://${dataAccount.user}:${dataAccount.password}@127.0.0.1:${pair.primary.port}/${cellDatabase}`,
      CELLPAY_GRPC_PORT: String(cellPort),
      CELLPAY_OPS_PORT: '0',
      CELLPAY_GLOBAL_MYSQL_URL: globalUrl,
      CELLPAY_REDIS_URL: redisUrl,
      CELLPAY_REDIS_PREFIX: redisPrefix,
      CELLPAY_FOLLOW_TOPOLOGY: 'true',
    });
    await openMerchantAccount(root, `127.0.0.1:${cellPort}`, 'drill-merchant');
    await cellctl(['migrate-global']);
    await cellctl(['merchant-register', 'drill-merchant', 'Drill merchant']);
    const credential = (owner: string, scopes: string, firstParty: boolean) =>
      createCredential(cellctl, owner, scopes, firstParty);
    const gatewayPort = await freePort();
    gateway = {
      address: `127.0.0.1:${gatewayPort}`,
      merchant: await credential('drill-merchant', 'pay,refund,read', false),
      walletBackend: await credential('drill-wallet-backend', 'wallet', true),
    };
    processes.start('gateway', 'dist/apps/gateway/main.js', {
      CELLPAY_GRPC_PORT: String(gatewayPort),
      CELLPAY_OPS_PORT: '0',
      CELLPAY_GLOBAL_MYSQL_URL: globalUrl,
      CELLPAY_REDIS_URL: redisUrl,
      CELLPAY_REDIS_PREFIX: redisPrefix,
      CELLPAY_CREDENTIAL_KEK: kek,
      CELLPAY_CELL_ADDRESSES: `cell-1=127.0.0.1:${cellPort}`,
    });
    await pollUntil(() => portAnswers(gatewayPort), {
      description: `the gateway listens (log: ${join(workDir, 'gateway.log')})`,
      timeoutMs: 60_000,
    });
  }, 600_000);

  afterAll(async () => {
    await processes.stopAll(processStopMsMax);
    const kafkaAdmin = createKafka({
      brokers: infra.kafka.brokers,
      clientId: 'drill-test',
    }).admin();
    await kafkaAdmin.connect();
    const topics = (await kafkaAdmin.listTopics()).filter((topic) => topic.startsWith(topicPrefix));
    if (topics.length > 0) await kafkaAdmin.deleteTopics({ topics });
    await kafkaAdmin.disconnect();
    await redis.del(...(await redis.keys(`${redisPrefix}:*`)), 'cellpay-drill-none');
    redis.disconnect();
    await globalPool?.end();
    await globalAdmin?.query(`DROP DATABASE IF EXISTS \`${globalDatabase}\``);
    await globalAdmin?.end();
    pair?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }, 120_000);

  function expectHealthy(report: DrillReport): void {
    expect(report.operationError).toBeNull();
    // Payments were acknowledged before and after the operation (a busy two-core machine slows
    // the global zone's writes, so the bounds leave room; the figures are in docs/operations.md).
    expect(report.rpo.acknowledged).toBeGreaterThan(drillLoad.ratePerSecond * 2);
    expect(report.rpo.missing).toBe(0);
    expect(report.reconciliation.clean).toBe(true);
    // The cell's users could not write for a while, but not for long.
    expect(report.rto.longestGapMs).toBeGreaterThan(0);
    expect(report.rto.longestGapMs).toBeLessThan(20_000);
  }

  /** One drill under the test's load; its report is written under tmp/drill-reports. */
  async function drill(kind: string, operation: DrillOperation, name: string) {
    const report = await runDrill({
      kind,
      target: new DrillPaymentTarget(gateway),
      operation,
      verifier: verifier(),
      ...drillLoad,
      progress: (line) => console.log(line),
    });
    const written = writeDrillReport(report, join(reportsDir, name));
    const { rto, rpo, clientErrors, facts } = report;
    console.log(JSON.stringify({ rto, rpo, clientErrors, facts }));
    return { report, written };
  }

  it('fails over under load (planned) with RPO 0, a clean reconciliation and a written report', async () => {
    const { report, written } = await drill(
      'failover',
      plannedFailoverOperation(new CellFailover(context()), {
        cellId: 'cell-1',
        toRegion: 'region-b',
      }),
      'planned',
    );
    expectHealthy(report);
    expect(await primaryRegion()).toBe('region-b');
    await pollUntil(
      () =>
        readFileSync(join(workDir, 'relay-cell-1.log'), 'utf8').includes(
          `"primary":"127.0.0.1:${pair.replica.port}"`,
        ),
      { description: 'the relay restarts on the new primary', timeoutMs: 15_000 },
    );
    expect(report.timeline.map((step) => step.step)).toEqual(
      expect.arrayContaining([
        'freeze-slots',
        'shard: fence-primary',
        'record-new-primary-in-topology',
        'unfreeze-slots',
      ]),
    );
    for (const path of [written.markdownPath, written.jsonPath, written.pngPath]) {
      expect(existsSync(path)).toBe(true);
    }
  }, 180_000);

  it('fails back (the same operation to the home region) with RPO 0', async () => {
    const { report } = await drill(
      'failover',
      plannedFailoverOperation(new CellFailover(context()), {
        cellId: 'cell-1',
        toRegion: 'region-a',
      }),
      'failback',
    );
    expectHealthy(report);
    expect(await primaryRegion()).toBe('region-a');
  }, 180_000);

  it('survives kill -9 of the primary (unplanned) with RPO 0; the returning primary refuses the cell account', async () => {
    const { report } = await drill(
      'unplanned',
      unplannedFailoverOperation(
        new CellFailover(context()),
        {
          cellId: 'cell-1',
          toRegion: 'region-b',
          detectMsMax: 30_000,
          returnWaitMs: 120_000,
          force: false,
        },
        {
          killPrimary: () => pair.kill(node('region-a')),
          restartOldPrimary: async () => pair.restart(node('region-a')),
        },
      ),
      'unplanned',
    );
    expectHealthy(report);
    expect(report.facts['old primary on return']).toBe('rejoined');
    expect(await primaryRegion()).toBe('region-b');
    // The old primary is back as a read-only replica: the cell's account cannot write to it.
    const asCell = createMysqlPool(
      { ...pair.primary, ...dataAccount, database: cellDatabase },
      {
        connectionsMax: 1,
        queuedRequestsMax: 2,
        connectTimeoutMs: 5_000,
      },
    );
    try {
      await expect(
        asCell.query("UPDATE payments SET status = status WHERE id = 'none'"),
      ).rejects.toMatchObject({ code: 'ER_OPTION_PREVENTS_STATEMENT' });
    } finally {
      await asCell.end();
    }
  }, 240_000);

  it('cellctl shows the topology, drains and undrains, and fails back with an audit record', async () => {
    expect(await cellctl(['topology', 'show'])).toMatch(
      /cell-1\s+region-b\s+127\.0\.0\.1:\d+\s+primary/,
    );
    expect(await cellctl(['drain', 'cell-1', '--yes'])).toMatch(/100 slot\(s\) frozen/);
    expect(
      (await new RoutingStore(globalPool).loadSnapshot())?.slots.every(
        (slot) => slot.state === 'frozen',
      ),
    ).toBe(true);
    expect(await cellctl(['undrain', 'cell-1', '--yes'])).toMatch(/100 slot\(s\) active/);
    const printed = await cellctl(['failover', 'cell-1', '--to', 'region-a', '--yes']);
    expect(printed).toMatch(/planned failover of cell-1: region-b -> region-a done/);
    expect(printed).toMatch(/shard: fence-primary/);
    expect(await primaryRegion()).toBe('region-a');
    expect(await cellctl(['audit', '--limit', '20'])).toMatch(/cell\.failover\.planned\s+cell-1/);
    // Without --yes and without a terminal nothing happens.
    await expect(cellctl(['failover', 'cell-1', '--to', 'region-b'])).resolves.toMatch(
      /not confirmed/,
    );
    expect(await primaryRegion()).toBe('region-a');
  }, 120_000);

  it('cellctl drill failover runs the whole drill from the command line and writes its report', async () => {
    const credentialsFile = join(workDir, 'credentials.json');
    const hex = (secret: Buffer) => secret.toString('hex');
    writeFileSync(
      credentialsFile,
      JSON.stringify({
        address: gateway.address,
        profiles: {
          'demo-merchant': {
            keyId: gateway.merchant.keyId,
            secretHex: hex(gateway.merchant.secret),
          },
          'demo-wallet-backend': {
            keyId: gateway.walletBackend.keyId,
            secretHex: hex(gateway.walletBackend.secret),
          },
        },
      }),
    );
    const out = join(reportsDir, 'cli');
    const printed = await cellctl([
      'drill',
      'failover',
      '--cell',
      'cell-1',
      '--load',
      '10',
      '--duration',
      '6',
      '--at',
      '2',
      '--out',
      out,
      '--credentials',
      credentialsFile,
      '--database',
      cellDatabase,
      '--cell-entry',
      join(root, 'dist/apps/cell/main.js'),
      '--yes',
    ]);
    expect(printed).toMatch(/RPO 0 of \d+; reconciliation clean/);
    expect(await primaryRegion()).toBe('region-b');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DrillReport;
    expect(report.operation).toBe('planned failover cell-1 -> region-b');
    expect(report.rpo.missing).toBe(0);
    expect(existsSync(join(out, 'curve.png'))).toBe(true);
  }, 120_000);
});
