import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import { pollUntil } from '@cellpay/testing';

import type { MysqlEndpoint } from '@cellpay/connections';

/** One server of the pair, reached with the admin account (the shape `ShardNode` takes). */
export interface ShardNodeEndpoint extends MysqlEndpoint {
  readonly name: string;
}

/** The account the replica uses to read the primary's binary log. */
export interface ReplicationCredentials {
  readonly user: string;
  readonly password: string;
}

const infraScript = join(__dirname, '..', '..', '..', '..', 'tools', 'infra', 'infra.sh');

/**
 * A MySQL-only installation of one cell (primary + semi-sync replica) under its own state folder
 * and port base, so failover tests can kill and fence servers without touching the shared ones.
 */
export interface DedicatedShardPair {
  readonly stateDir: string;
  readonly primary: ShardNodeEndpoint;
  readonly replica: ShardNodeEndpoint;
  readonly replication: ReplicationCredentials;
  /** `kill -9` of one server, by the pid in its pid file; resolves once the process is gone. */
  kill(node: ShardNodeEndpoint): Promise<void>;
  /** Starts a killed server again with its own my.cnf, the way infra.sh does. */
  restart(node: ShardNodeEndpoint): void;
  stop(): void;
}

const killWaitMsMax = 30_000;

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** Distance between the port bases of the two pairs of one process under a chosen base. */
const chosenBasePairStride = 50;

/**
 * Far from the shared services (3400..3432) and from each other: per test process, and per pair
 * within one process (`pairIndex` 0 or 1). `CELLPAY_TEST_MYSQL_PORT_BASE` pins the base (pair 1
 * at +50) where several people share a machine and each has been given a port block.
 */
function portBase(pairIndex: number): number {
  const chosen = process.env['CELLPAY_TEST_MYSQL_PORT_BASE'] ?? '';
  if (chosen !== '') {
    const base = Number(chosen);
    if (!Number.isInteger(base) || base < 1024 || base > 65_000) {
      throw new Error(`CELLPAY_TEST_MYSQL_PORT_BASE must be a port number, got '${chosen}'`);
    }
    return base + pairIndex * chosenBasePairStride;
  }
  return 3700 + (process.pid % 20) * 40 + pairIndex * 20;
}

export function startDedicatedShardPair(pairIndex: number): DedicatedShardPair {
  const stateDir = mkdtempSync(join(tmpdir(), 'cellpay-failover-'));
  const base = portBase(pairIndex);
  const env = {
    ...process.env,
    CELLPAY_INFRA_SERVICES: 'mysql',
    CELLPAY_CELLS: '1',
    CELLPAY_MYSQL_PORT_BASE: String(base),
    CELLPAY_INFRA_DIR: stateDir,
  };
  const infra = (args: string[]) =>
    execFileSync('bash', [infraScript, ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const serverDir = (node: ShardNodeEndpoint) => join(stateDir, 'mysql', node.name);
  try {
    infra(['up']);
  } catch (error) {
    infra(['down']);
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const endpoint = (name: string, port: number): ShardNodeEndpoint => ({
    name,
    host: '127.0.0.1',
    port,
    user: 'cellpay',
    password: 'cellpay',
  });
  return {
    stateDir,
    primary: endpoint('cell-1-primary', base + 11),
    replica: endpoint('cell-1-replica', base + 12),
    replication: { user: 'repl', password: 'repl' },
    async kill(node) {
      const pid = Number(readFileSync(join(serverDir(node), 'mysqld.pid'), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      // A restart before the old process has released its files would wait on InnoDB's lock.
      await pollUntil(() => !existsSync(`/proc/${pid}/status`) || isZombie(pid), {
        description: `pid ${pid} gone`,
        timeoutMs: killWaitMsMax,
      });
    },
    restart(node) {
      const output = openSync(join(serverDir(node), 'stdout.log'), 'a');
      // As infra.sh does: mariadbd refuses to run as root unless told which user to be.
      const server = spawn(
        '/usr/sbin/mariadbd',
        [`--defaults-file=${join(serverDir(node), 'my.cnf')}`, `--user=${userInfo().username}`],
        { detached: true, stdio: ['ignore', output, output] },
      );
      server.unref();
      closeSync(output);
    },
    stop() {
      infra(['down']);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
