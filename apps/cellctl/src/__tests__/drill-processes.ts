import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

import {
  credentials as grpcCredentials,
  loadPackageDefinition,
  type GrpcObject,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { pollUntil } from '@cellpay/testing';

/** What the drill tests share: free ports, child processes, the cell's account API, credentials. */

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The built apps a test starts, each logging to `<workDir>/<name>.log`, stopped by pid. */
export class DrillProcesses {
  private readonly children: ChildProcess[] = [];

  constructor(
    private readonly root: string,
    private readonly workDir: string,
  ) {}

  start(name: string, entry: string, processEnv: Record<string, string>): void {
    const log = openSync(join(this.workDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [join(this.root, entry)], {
      cwd: this.root,
      env: { ...process.env, LOG_LEVEL: 'warn', ...processEnv },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.children.push(child);
  }

  /**
   * SIGTERM, then SIGKILL after `stopMsMax`: a relay that restarted on a new primary has been
   * seen not to finish its shutdown (reported; see docs/operations.md).
   */
  async stopAll(stopMsMax: number): Promise<void> {
    for (const child of this.children) child.kill('SIGTERM');
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
        const timer = new Promise<boolean>((resolve) =>
          setTimeout(() => resolve(false), stopMsMax).unref(),
        );
        if (!(await Promise.race([exited, timer]))) {
          console.log(`${child.spawnfile} pid ${child.pid} ignored SIGTERM for ${stopMsMax} ms`);
          child.kill('SIGKILL');
          await exited;
        }
      }),
    );
  }
}

/** Opens a merchant's account in the cell at `address` once the cell answers. */
export async function openMerchantAccount(
  root: string,
  address: string,
  ownerId: string,
): Promise<void> {
  const cellProto = loadSync(join(root, 'libs/shared/proto/proto/cellpay/cell/v1/cell.proto'), {
    keepCase: false,
    longs: String,
    defaults: true,
  });
  const cellV1 = (
    (loadPackageDefinition(cellProto)['cellpay'] as GrpcObject)['cell'] as GrpcObject
  )['v1'] as GrpcObject;
  const AccountService = cellV1['AccountService'] as unknown as new (
    address: string,
    credentials: ReturnType<typeof grpcCredentials.createInsecure>,
  ) => {
    openAccount(request: object, options: object, callback: (error: Error | null) => void): void;
    close(): void;
  };
  const accounts = new AccountService(address, grpcCredentials.createInsecure());
  try {
    await pollUntil(
      () =>
        new Promise<boolean>((resolve) =>
          accounts.openAccount(
            { kind: 'merchant', ownerId, currency: 'CNY' },
            { deadline: Date.now() + 2_000 },
            (error) => resolve(error === null),
          ),
        ),
      { description: `the cell at ${address} opens the account of ${ownerId}`, timeoutMs: 60_000 },
    );
  } finally {
    accounts.close();
  }
}

/** A credential made with `cellctl credential-create`, as its output prints it. */
export async function createCredential(
  cellctl: (args: string[]) => Promise<string>,
  owner: string,
  scopes: string,
  firstParty: boolean,
): Promise<{ keyId: string; secret: Buffer }> {
  const printed = await cellctl([
    'credential-create',
    '--owner',
    owner,
    '--scopes',
    scopes,
    '--rate',
    '2000',
    '--burst',
    '4000',
    ...(firstParty ? ['--first-party'] : []),
  ]);
  const keyId = /key id: (\S+)/.exec(printed)?.[1] ?? '';
  const secret = /secret: (\S+)/.exec(printed)?.[1] ?? '';
  return { keyId, secret: Buffer.from(secret, 'base64url') };
}
