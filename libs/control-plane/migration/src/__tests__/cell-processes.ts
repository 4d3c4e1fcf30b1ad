import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

const repositoryRoot = join(__dirname, '..', '..', '..', '..', '..');
const cellEntry = join(repositoryRoot, 'dist', 'apps', 'cell', 'main.js');

/** A port the OS just handed out, so parallel runs on this shared machine never collide. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The cell process is built (tools/scripts/build-app.mjs) once per test process: a build left from
 * an older checkout would otherwise test old code. The mark lives in the environment because jest
 * gives every test file its own module registry but runs them in the same worker.
 */
const builtMark = 'CELLPAY_TEST_CELL_BUILT';

export function ensureCellBuilt(): void {
  if (process.env[builtMark] === '1' && existsSync(cellEntry)) return;
  execFileSync(process.execPath, ['tools/scripts/build-app.mjs', 'apps/cell'], {
    cwd: repositoryRoot,
    stdio: 'inherit',
  });
  process.env[builtMark] = '1';
}

export interface CellProcessSettings {
  readonly cellId: string;
  readonly mysqlUrl: string;
  readonly globalMysqlUrl: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
}

/**
 * A real cell process (`dist/apps/cell/main.js serve`) on free ports: it follows the routing table
 * and refuses slots it does not own or that are frozen, exactly as in production.
 */
export class CellProcess {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly cellId: string,
    readonly address: string,
    readonly opsPort: number,
  ) {}

  static async start(settings: CellProcessSettings): Promise<CellProcess> {
    const [grpcPort, opsPort] = [await freePort(), await freePort()];
    const env = {
      ...process.env,
      CELLPAY_CELL_ID: settings.cellId,
      CELLPAY_MYSQL_URL: settings.mysqlUrl,
      CELLPAY_MYSQL_CONNECTIONS_MAX: '8',
      CELLPAY_GRPC_PORT: String(grpcPort),
      CELLPAY_OPS_PORT: String(opsPort),
      CELLPAY_GLOBAL_MYSQL_URL: settings.globalMysqlUrl,
      CELLPAY_REDIS_URL: settings.redisUrl,
      CELLPAY_REDIS_PREFIX: settings.redisPrefix,
      LOG_LEVEL: 'warn' as const,
    };
    execFileSync(process.execPath, [cellEntry, 'migrate'], { env, stdio: 'pipe' });
    const cell = new CellProcess(settings.cellId, `127.0.0.1:${grpcPort}`, opsPort);
    cell.child = spawn(process.execPath, [cellEntry, 'serve'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      cell.output = (cell.output + chunk.toString()).slice(-4_000);
    };
    cell.child.stdout?.on('data', keep);
    cell.child.stderr?.on('data', keep);
    return cell;
  }

  async ready(): Promise<boolean> {
    if (this.child?.exitCode !== null) {
      throw new Error(`${this.cellId} exited: ${this.output}`);
    }
    const response = await fetch(`http://127.0.0.1:${this.opsPort}/readyz`).catch(() => undefined);
    return response?.status === 200;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
}
