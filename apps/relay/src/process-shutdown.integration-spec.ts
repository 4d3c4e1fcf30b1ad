import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Pool } from 'mysql2/promise';

import { call, cellClients, freePort, type Client, type GrpcError } from '@cellpay/cell-testing';
import { applyMigrations, createKafka, createMysqlPool, createRedis } from '@cellpay/connections';
import {
  globalMigrations,
  publishTopology,
  RoutingStore,
  TopologyStore,
  topologyRedisKeys,
} from '@cellpay/global-data-access';
import { evenlySpreadSnapshot } from '@cellpay/routing';
import { migrateSettlementShard } from '@cellpay/settlement-cell';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

const root = join(__dirname, '..', '..', '..');
const infraScript = join(root, 'tools', 'infra', 'infra.sh');
/** What a supervisor (Kubernetes, cluster:down) waits after SIGTERM before it sends SIGKILL. */
const exitAfterSigtermMsMax = 15_000;
/** A load small enough for two shared cores, bounded in calls and time. */
const load = { clients: 4, callsPerClientMax: 400, durationMsMax: 30_000 };
const cellDatabase = 'cellpay_cell_1';
const admin = { user: 'cellpay', password: 'cellpay' };

/**
 * The MariaDB ports of this suite: far from the shared services and from the failover tests'
 * dedicated pairs (`startDedicatedShardPair` uses base +0/+11/+12 and +20/+31/+32 per 40).
 */
function mysqlPortBase(): number {
  const chosen = process.env['CELLPAY_TEST_MYSQL_PORT_BASE'] ?? '';
  return (chosen === '' ? 3700 + (process.pid % 20) * 40 : Number(chosen)) + 26;
}

/** Its own MariaDB (global + cell-1 primary and replica) and Redis, stopped by the suite. */
class DedicatedInfra {
  readonly stateDir = mkdtempSync(join(tmpdir(), 'cellpay-shutdown-'));
  readonly mysqlPortBase = mysqlPortBase();
  readonly primaryPort = this.mysqlPortBase + 11;
  readonly replicaPort = this.mysqlPortBase + 12;

  private constructor(readonly redisPort: number) {}

  static async start(): Promise<DedicatedInfra> {
    const infra = new DedicatedInfra(await freePort());
    try {
      infra.run('up');
    } catch (error) {
      infra.stop();
      throw error;
    }
    return infra;
  }

  mysqlUrl(port: number, database: string): string {
    return `mysql://${admin.user}:${admin.password}@127.0.0.1:${port}/${database}`;
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.redisPort}`;
  }

  stop(): void {
    this.run('down');
  }

  remove(): void {
    this.stop();
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  private run(command: 'up' | 'down'): void {
    execFileSync('bash', [infraScript, command], {
      env: {
        ...process.env,
        CELLPAY_INFRA_SERVICES: 'mysql,redis',
        CELLPAY_CELLS: '1',
        CELLPAY_MYSQL_PORT_BASE: String(this.mysqlPortBase),
        CELLPAY_REDIS_PORT: String(this.redisPort),
        CELLPAY_INFRA_DIR: this.stateDir,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
}

/** A process of this repository's build, with its log in a file the test can read. */
class AppProcess {
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly logFile: string,
  ) {}

  static start(
    name: string,
    entry: string,
    env: Record<string, string>,
    logDir: string,
  ): AppProcess {
    const logFile = join(logDir, `${name}.log`);
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, [join(root, entry)], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    return new AppProcess(name, child, logFile);
  }

  get log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** SIGTERM, then how long the process took to exit; SIGKILL (and an error) past the bound. */
  async terminate(): Promise<number> {
    if (this.exited) throw new Error(`${this.name} had exited before SIGTERM:\n${this.log}`);
    const startedAt = Date.now();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), exitAfterSigtermMsMax);
    });
    const outcome = await Promise.race([exited.then(() => 'exited' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.child.kill('SIGKILL');
      await exited;
      throw new Error(`${this.name} did not exit ${exitAfterSigtermMsMax} ms after SIGTERM`);
    }
    return Date.now() - startedAt;
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** Opens a merchant account: one unit of work on the shard. Resolves with the refusal, if any. */
function openAccount(accounts: Client, ownerId: string): Promise<GrpcError | null> {
  return call(accounts, 'openAccount', { kind: 'merchant', ownerId, currency: 'CNY' }).then(
    () => null,
    (error: GrpcError) => error,
  );
}

/**
 * The processes' SIGTERM paths on real servers: the relay after it restarted on a new primary,
 * a cell under load (no call may meet a closed pool), and cell, relay and gateway whose MySQL and
 * Redis are already gone. Its own MariaDB and Redis (stopped here), the shared Kafka under a
 * unique topic prefix.
 */
describe('processes stop within their bound on SIGTERM', () => {
  const shared = readInfraEndpoints();
  const logDir = mkdtempSync(join(tmpdir(), 'cellpay-shutdown-logs-'));
  const topicPrefix = uniqueName('shutdown');
  const redisPrefix = 'shutdown';
  const globalDatabase = 'cellpay_global';
  const processes: AppProcess[] = [];
  let infra: DedicatedInfra;
  let globalPool: Pool;

  const start = (name: string, entry: string, env: Record<string, string>): AppProcess => {
    const started = AppProcess.start(name, entry, env, logDir);
    processes.push(started);
    return started;
  };

  const relayEnv = (shardPort: number, opsPort: number): Record<string, string> => ({
    CELLPAY_CELL_ID: 'cell-1',
    CELLPAY_MYSQL_URL: infra.mysqlUrl(shardPort, cellDatabase),
    CELLPAY_GLOBAL_MYSQL_URL: infra.mysqlUrl(infra.mysqlPortBase, globalDatabase),
    CELLPAY_REDIS_URL: infra.redisUrl,
    CELLPAY_REDIS_PREFIX: redisPrefix,
    CELLPAY_FOLLOW_TOPOLOGY: 'true',
    CELLPAY_KAFKA_BROKERS: shared.kafka.brokers.join(','),
    CELLPAY_KAFKA_TOPIC_PREFIX: topicPrefix,
    CELLPAY_OPS_PORT: String(opsPort),
  });

  async function startCell(
    env: Record<string, string>,
  ): Promise<{ cell: AppProcess; address: string }> {
    const port = await freePort();
    const cell = start('cell-1', 'dist/apps/cell/main.js', {
      CELLPAY_CELL_ID: 'cell-1',
      CELLPAY_GRPC_PORT: String(port),
      CELLPAY_OPS_PORT: '0',
      CELLPAY_MYSQL_CONNECTIONS_MAX: '4',
      ...env,
    });
    const address = `127.0.0.1:${port}`;
    const { accounts: client } = cellClients(address);
    try {
      await pollUntil(async () => (await openAccount(client, uniqueName('warmup'))) === null, {
        description: 'the cell serves',
        timeoutMs: 60_000,
        intervalMs: 250,
      });
    } finally {
      client.close();
    }
    return { cell, address };
  }

  async function relayReady(opsPort: number): Promise<boolean> {
    const response = await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined);
    return response?.status === 200;
  }

  beforeAll(async () => {
    for (const app of ['apps/cell', 'apps/relay', 'apps/gateway']) {
      execFileSync(process.execPath, ['tools/scripts/build-app.mjs', app], {
        cwd: root,
        stdio: 'ignore',
      });
    }
    infra = await DedicatedInfra.start();
    globalPool = createMysqlPool({
      host: '127.0.0.1',
      port: infra.mysqlPortBase,
      ...admin,
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
      'shutdown-test',
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
            { region: 'region-a', host: '127.0.0.1', port: infra.primaryPort },
            { region: 'region-b', host: '127.0.0.1', port: infra.replicaPort },
          ],
        },
      ],
      { actor: 'shutdown-test', action: 'topology.load', subject: 'test' },
    );
    execFileSync(process.execPath, ['dist/apps/cell/main.js', 'migrate'], {
      cwd: root,
      env: {
        ...process.env,
        CELLPAY_CELL_ID: 'cell-1',
        CELLPAY_MYSQL_URL: infra.mysqlUrl(infra.primaryPort, cellDatabase),
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    const shard = createMysqlPool({
      host: '127.0.0.1',
      port: infra.primaryPort,
      ...admin,
      database: cellDatabase,
    });
    await migrateSettlementShard(shard);
    await shard.end();
  }, 600_000);

  afterAll(async () => {
    for (const started of processes) started.kill();
    await globalPool?.end().catch(() => undefined);
    infra?.remove();
    const kafkaAdmin = createKafka({
      brokers: shared.kafka.brokers,
      clientId: 'shutdown-test',
    }).admin();
    await kafkaAdmin.connect();
    const topics = (await kafkaAdmin.listTopics()).filter((topic) => topic.startsWith(topicPrefix));
    if (topics.length > 0) await kafkaAdmin.deleteTopics({ topics });
    await kafkaAdmin.disconnect();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('a relay restarted on a new primary exits on SIGTERM', async () => {
    const opsPort = await freePort();
    const relay = start(
      'relay-repointed',
      'dist/apps/relay/main.js',
      relayEnv(infra.primaryPort, opsPort),
    );
    await pollUntil(() => relayReady(opsPort), {
      description: 'the relay serves on the primary',
      timeoutMs: 60_000,
      intervalMs: 250,
    });

    // The replica becomes the primary (as a failover leaves it) and the topology says so.
    const replica = createMysqlPool({ host: '127.0.0.1', port: infra.replicaPort, ...admin });
    await replica.query('STOP SLAVE');
    await replica.query('RESET SLAVE ALL');
    await replica.query('SET GLOBAL read_only = OFF');
    await replica.end();
    const redis = createRedis({ host: '127.0.0.1', port: infra.redisPort });
    try {
      const moved = await new TopologyStore(globalPool).setPrimary('cell-1', 'region-b', {
        actor: 'shutdown-test',
        action: 'topology.set-primary',
        subject: 'cell-1',
      });
      await publishTopology(redis, topologyRedisKeys(redisPrefix), moved);
    } finally {
      redis.disconnect();
    }
    await pollUntil(() => relay.log.includes(`"primary":"127.0.0.1:${infra.replicaPort}"`), {
      description: 'the relay restarted on the new primary',
      timeoutMs: 60_000,
      intervalMs: 250,
    }).catch((error: unknown) => {
      // The relay's own account of the repoint is what explains a failure here.
      throw new Error(`${String(error)}\nrelay log (tail):\n${relay.log.slice(-4_000)}`);
    });
    await pollUntil(() => relayReady(opsPort), {
      description: 'the restarted relay serves',
      timeoutMs: 60_000,
      intervalMs: 250,
    });

    const exitMs = await relay.terminate();
    console.log(`relay repointed to a new primary: exited ${exitMs} ms after SIGTERM`);
    expect(exitMs).toBeLessThan(exitAfterSigtermMsMax);
    expect(relay.log).toContain('relay stopped');
  });

  it('a cell under load lets its calls finish or refuses them as UNAVAILABLE, never with a closed pool', async () => {
    // The cell on the old primary, still writable: this test is about the cell's own shutdown.
    const { cell, address } = await startCell({
      CELLPAY_MYSQL_URL: infra.mysqlUrl(infra.primaryPort, cellDatabase),
    });
    const results: (GrpcError | null)[] = [];
    const deadline = Date.now() + load.durationMsMax;
    let stopping = false;
    const clients = Array.from({ length: load.clients }, () => cellClients(address).accounts);
    const loops = clients.map(async (client, index) => {
      for (let call = 0; call < load.callsPerClientMax && Date.now() < deadline; call += 1) {
        const error = await openAccount(client, `load-${index}-${call}`);
        results.push(error);
        // Once the server is gone every call fails fast; a few are enough to see how.
        if (stopping && error !== null) return;
      }
    });
    await pollUntil(() => results.length >= 40, { description: 'calls served before SIGTERM' });

    stopping = true;
    const exitMs = await cell.terminate();
    await Promise.all(loops);
    for (const client of clients) client.close();

    const failures = results.filter((error): error is GrpcError => error !== null);
    console.log(
      `cell under load: exited ${exitMs} ms after SIGTERM; ${results.length - failures.length} ` +
        `calls succeeded, failures by status ${JSON.stringify(
          failures.reduce<Record<string, number>>((counts, error) => {
            counts[error.code] = (counts[error.code] ?? 0) + 1;
            return counts;
          }, {}),
        )}`,
    );
    expect(exitMs).toBeLessThan(exitAfterSigtermMsMax);
    expect(
      failures.filter((error) =>
        /Pool is closed/i.test((error as { details?: string }).details ?? ''),
      ),
    ).toEqual([]);
    expect(cell.log).not.toMatch(/Pool is closed/i);
    // 14: UNAVAILABLE, the retryable refusal (from the draining cell, or a closed port).
    expect(failures.map((error) => error.code)).toEqual(failures.map(() => 14));
    expect(results.length - failures.length).toBeGreaterThanOrEqual(40);
  });

  it('cell, relay and gateway exit on SIGTERM when their MySQL and Redis are already gone', async () => {
    const { cell, address } = await startCell({
      CELLPAY_MYSQL_URL: infra.mysqlUrl(infra.replicaPort, cellDatabase),
      CELLPAY_GLOBAL_MYSQL_URL: infra.mysqlUrl(infra.mysqlPortBase, globalDatabase),
      CELLPAY_REDIS_URL: infra.redisUrl,
      CELLPAY_REDIS_PREFIX: redisPrefix,
      CELLPAY_FOLLOW_TOPOLOGY: 'true',
    });
    const relayOpsPort = await freePort();
    const relay = start(
      'relay-orphaned',
      'dist/apps/relay/main.js',
      relayEnv(infra.replicaPort, relayOpsPort),
    );
    const gatewayPort = await freePort();
    const gatewayOpsPort = await freePort();
    const gateway = start('gateway', 'dist/apps/gateway/main.js', {
      CELLPAY_GRPC_PORT: String(gatewayPort),
      CELLPAY_OPS_PORT: String(gatewayOpsPort),
      CELLPAY_GLOBAL_MYSQL_URL: infra.mysqlUrl(infra.mysqlPortBase, globalDatabase),
      CELLPAY_REDIS_URL: infra.redisUrl,
      CELLPAY_REDIS_PREFIX: redisPrefix,
      CELLPAY_CREDENTIAL_KEK: Buffer.alloc(32, 7).toString('base64'),
      CELLPAY_CELL_ADDRESSES: `cell-1=${address}`,
    });
    await pollUntil(() => relayReady(relayOpsPort), {
      description: 'the relay serves',
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    await pollUntil(() => gateway.log.includes('gateway ready'), {
      description: 'the gateway serves',
      timeoutMs: 60_000,
      intervalMs: 250,
    });

    await globalPool.end();
    infra.stop();

    const exits = await Promise.all([cell, relay, gateway].map((app) => app.terminate()));
    console.log(
      `with MySQL and Redis gone: cell exited ${exits[0]} ms, relay ${exits[1]} ms, ` +
        `gateway ${exits[2]} ms after SIGTERM`,
    );
    for (const exitMs of exits) expect(exitMs).toBeLessThan(exitAfterSigtermMsMax);
  });
});
