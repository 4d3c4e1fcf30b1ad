import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';

import type { Command } from 'commander';

import { CellFailover } from '@cellpay/cell-failover';
import { infraStateDir, readInfraEndpoints } from '@cellpay/config';
import {
  DrillPaymentTarget,
  plannedFailoverOperation,
  runDrill,
  ShardDrillVerifier,
  unplannedFailoverOperation,
  writeDrillReport,
  type DrillGateway,
} from '@cellpay/drill';
import { cellTopologyOf, primaryNodeOf, TopologyStore } from '@cellpay/global-data-access';

import type { CommandRunner } from '../cellctl';
import { auditFailover, cellOperationContext } from './failover.command';
import { resolveShardAccess } from './shard-access';

const reconcileTimeoutMs = 120_000;

/** Gateway address and credentials from a file as `npm run cluster:up` writes it. */
export function readDrillGateway(path: string): DrillGateway {
  const file = JSON.parse(readFileSync(path, 'utf8')) as {
    address: string;
    profiles: Record<string, { keyId: string; secretHex: string }>;
  };
  const profile = (owner: string) => {
    const found = file.profiles[owner];
    if (found === undefined) throw new Error(`${path} has no profile ${owner}`);
    return { keyId: found.keyId, secret: Buffer.from(found.secretHex, 'hex') };
  };
  return {
    address: file.address,
    merchant: profile('demo-merchant'),
    walletBackend: profile('demo-wallet-backend'),
  };
}

/** Runs the cell's own reconciliation (`cell reconcile`) against its current primary. */
export function reconcileWithCellProcess(
  cellEntry: string,
  cellId: string,
  mysqlUrl: string,
): Promise<{ clean: boolean; summary: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cellEntry, 'reconcile'],
      {
        env: {
          ...process.env,
          CELLPAY_CELL_ID: cellId,
          CELLPAY_MYSQL_URL: mysqlUrl,
          LOG_LEVEL: 'warn',
        },
        timeout: reconcileTimeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : ((error as { code?: number }).code ?? 1);
        let summary = `exit ${exitCode}`;
        try {
          const report = JSON.parse(stdout) as Record<string, unknown>;
          const differences = Array.isArray(report['differences'])
            ? report['differences'].length
            : 0;
          summary = `${report['clean'] === true ? 'clean' : 'not clean'}; ${differences} difference(s)`;
        } catch {
          summary = `${summary}: ${stderr.trim().slice(0, 300)}`;
        }
        done({ clean: exitCode === 0, summary });
      },
    );
  });
}

/** The local server directory of tools/infra that listens on `port` (kill and restart by pid). */
function localServerDir(port: number): string {
  const root = join(infraStateDir(), 'mysql');
  for (const name of readdirSync(root)) {
    const config = join(root, name, 'my.cnf');
    if (existsSync(config) && readFileSync(config, 'utf8').includes(`\nport=${port}\n`)) {
      return join(root, name);
    }
  }
  throw new Error(`no tools/infra server listens on ${port}`);
}

export function registerDrillCommands(
  program: Command,
  run: CommandRunner,
  env: NodeJS.ProcessEnv,
): void {
  program
    .command('drill <kind>')
    .description(
      'run a failover (kind failover) or an unplanned failover with kill -9 of the primary ' +
        '(kind unplanned, --local only) under payment load, and write a report',
    )
    .requiredOption('--cell <id>', 'the cell to drill')
    .option('--to <region>', "target region (default: the cell's other region)")
    .option('--load <tps>', 'payments per second (open loop)', '20')
    .option('--duration <s>', 'seconds of load', '20')
    .option('--at <s>', 'when the operation starts, seconds into the load', '5')
    .requiredOption('--out <dir>', 'where the report goes')
    .option('--credentials <file>', 'gateway and credentials', 'tmp/cluster/credentials.json')
    .option('--database <name>', "the cell's database (default: from tools/infra with --local)")
    .option('--cell-entry <path>', 'the cell program, for reconciliation', 'dist/apps/cell/main.js')
    .option('--yes', 'do not ask for confirmation')
    .action(
      (
        kind: string,
        options: {
          cell: string;
          to?: string;
          load: string;
          duration: string;
          at: string;
          out: string;
          credentials: string;
          database?: string;
          cellEntry: string;
          yes?: boolean;
        },
        command: Command,
      ) =>
        run(async (session) => {
          if (kind !== 'failover' && kind !== 'unplanned') {
            throw new Error(`drill kinds: failover, unplanned; got '${kind}'`);
          }
          const local = command.optsWithGlobals<{ local?: boolean }>().local === true;
          if (kind === 'unplanned' && !local) {
            throw new Error('the unplanned drill kills a server process: --local only');
          }
          const database =
            options.database ??
            (local
              ? readInfraEndpoints().cells.find((c) => c.id === options.cell)?.database
              : undefined);
          if (database === undefined) throw new Error("give --database (the cell's database)");
          const operationContext = cellOperationContext(session, local, env);
          const topologyStore = new TopologyStore(session.context.globalPool());
          const cellNow = async () => {
            const topology = (await topologyStore.load())?.value;
            if (topology === undefined) throw new Error('no topology (cellctl topology load)');
            return cellTopologyOf(topology, options.cell);
          };
          const before = await cellNow();
          const toRegion =
            options.to ??
            before.nodes.find((node) => node.region !== before.primaryRegion)?.region ??
            before.standbyRegion;
          if (
            !(await session.confirm(
              options.yes,
              `Drill ${kind} of ${options.cell} to ${toRegion} under ${options.load} payments/s for ${options.duration} s?`,
            ))
          ) {
            return;
          }
          const failover = new CellFailover(operationContext);
          const admin = resolveShardAccess(local, env).admin;
          const primaryEndpoint = async () => {
            const primary = primaryNodeOf(await cellNow());
            return { ...admin, host: primary.host, port: primary.port, database };
          };
          const oldPrimary = primaryNodeOf(before);
          const operation =
            kind === 'failover'
              ? plannedFailoverOperation(
                  failover,
                  { cellId: options.cell, toRegion },
                  (result) => void auditFailover(session, result),
                )
              : unplannedFailoverOperation(
                  failover,
                  {
                    cellId: options.cell,
                    toRegion,
                    detectMsMax: 60_000,
                    returnWaitMs: 120_000,
                    force: false,
                  },
                  {
                    killPrimary: async () => {
                      const dir = localServerDir(oldPrimary.port);
                      const pid = Number(readFileSync(join(dir, 'mysqld.pid'), 'utf8').trim());
                      process.kill(pid, 'SIGKILL');
                    },
                    restartOldPrimary: async () => {
                      const dir = localServerDir(oldPrimary.port);
                      // Its my.cnf starts it read-only: it takes no write before it is fenced.
                      const server = spawn(
                        '/usr/sbin/mariadbd',
                        [`--defaults-file=${join(dir, 'my.cnf')}`, `--user=${userInfo().username}`],
                        { detached: true, stdio: 'ignore' },
                      );
                      server.unref();
                    },
                  },
                  (result) => void auditFailover(session, result),
                );
          const report = await runDrill({
            kind,
            target: new DrillPaymentTarget(readDrillGateway(options.credentials)),
            operation,
            verifier: new ShardDrillVerifier(primaryEndpoint, async () => {
              const endpoint = await primaryEndpoint();
              const url = `mysql://${encodeURIComponent(endpoint.user)}:${encodeURIComponent(endpoint.password)}@${endpoint.host}:${endpoint.port}/${database}`;
              return reconcileWithCellProcess(resolve(options.cellEntry), options.cell, url);
            }),
            ratePerSecond: Number(options.load),
            durationSeconds: Number(options.duration),
            operationAtSeconds: Number(options.at),
            progress: (line) => session.terminal.out(line),
          });
          const written = writeDrillReport(report, options.out);
          session.terminal.out(
            `RTO ${report.rto.longestGapMs} ms; RPO ${report.rpo.missing} of ${report.rpo.acknowledged}; ` +
              `reconciliation ${report.reconciliation.summary}; report ${written.markdownPath}`,
          );
          if (
            report.operationOutcome === 'failed' ||
            report.rpo.missing > 0 ||
            !report.reconciliation.clean
          ) {
            throw new Error('the drill found a problem; see the report');
          }
        }),
    );
}
