import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ReplicationCredentials, ShardNodeEndpoint } from '../shard-node';

const infraScript = join(__dirname, '..', '..', '..', '..', '..', 'tools', 'infra', 'infra.sh');

/**
 * A MySQL-only installation of one cell (primary + semi-sync replica) under its own state folder
 * and port base, so failover tests can kill and fence servers without touching the shared ones.
 */
export interface DedicatedShardPair {
  readonly stateDir: string;
  readonly primary: ShardNodeEndpoint;
  readonly replica: ShardNodeEndpoint;
  readonly replication: ReplicationCredentials;
  /** `kill -9` of one server, by the pid in its pid file. */
  kill(node: ShardNodeEndpoint): void;
  /** Starts a killed server again with its own my.cnf, the way infra.sh does. */
  restart(node: ShardNodeEndpoint): void;
  stop(): void;
}

/** Far from the shared services (3400..3432) and from each other, per test process. */
function portBase(): number {
  return 3700 + (process.pid % 40) * 20;
}

export function startDedicatedShardPair(): DedicatedShardPair {
  const stateDir = mkdtempSync(join(tmpdir(), 'cellpay-failover-'));
  const base = portBase();
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
    kill(node) {
      const pid = Number(readFileSync(join(serverDir(node), 'mysqld.pid'), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
    },
    restart(node) {
      const server = spawn(mysqldBinary(), [`--defaults-file=${join(serverDir(node), 'my.cnf')}`], {
        detached: true,
        stdio: 'ignore',
      });
      server.unref();
    },
    stop() {
      infra(['down']);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

function mysqldBinary(): string {
  for (const candidate of ['mariadbd', '/usr/sbin/mariadbd']) {
    try {
      return execFileSync('bash', ['-c', `command -v ${candidate}`], { encoding: 'utf8' }).trim();
    } catch {
      // Not on PATH under this name; try the next.
    }
  }
  throw new Error('mariadbd not found');
}
