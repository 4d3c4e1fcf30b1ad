import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';

import type { Command } from 'commander';

import { CellFailover } from '@cellpay/cell-failover';
import { infraStateDir, readInfraEndpoints } from '@cellpay/config';
import { mysqlEndpointOf } from '@cellpay/connections';
import {
  DrillPaymentTarget,
  drillLoadSettingsDefault,
  MigrationDrillVerifier,
  migrationDrillPayers,
  movingSlotsGroup,
  plannedFailoverOperation,
  slotMigrationOperation,
  runDrill,
  ShardDrillVerifier,
  unplannedFailoverOperation,
  writeDrillReport,
  type DrillGateway,
} from '@cellpay/drill';
import {
  AuditLog,
  cellTopologyOf,
  primaryNodeOf,
  RoutingStore,
  TopologyStore,
} from '@cellpay/global-data-access';
import { migrateSlots, planMigration, type MigrationSummary } from '@cellpay/migration';
import { newRequestId, runInRequestContext } from '@cellpay/observability';
import { reconcileShards, type CellShard } from '@cellpay/settlement-cell';

import type { CommandRunner, Session } from '../cellctl';
import { auditFailover, cellOperationContext } from './failover.command';
import {
  migrationDependenciesOf,
  progressLine,
  shardPoolsOf,
  shardUrls,
  slotListPattern,
} from './migrate.command';
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

interface DrillOptions {
  cell?: string;
  slots?: string;
  to?: string;
  load: string;
  duration: string;
  at: string;
  out: string;
  credentials: string;
  database?: string;
  cellEntry: string;
  yes?: boolean;
}

export function registerDrillCommands(
  program: Command,
  run: CommandRunner,
  env: NodeJS.ProcessEnv,
): void {
  program
    .command('drill <kind>')
    .description(
      'run a failover (kind failover), an unplanned failover with kill -9 of the primary ' +
        '(kind unplanned, --local only) or a slot migration (kind migrate) under payment load, ' +
        'and write a report',
    )
    .option('--cell <id>', 'the cell to drill (failover, unplanned)')
    .option('--slots <list>', 'the slots to move, comma-separated, one source cell (migrate)')
    .option(
      '--to <region|cell>',
      "failover: target region (default: the cell's other region); migrate: the target cell",
    )
    .option('--load <tps>', 'payments per second (open loop)', '20')
    .option('--duration <s>', 'seconds of load', '20')
    .option('--at <s>', 'when the operation starts, seconds into the load', '5')
    .requiredOption('--out <dir>', 'where the report goes')
    .option('--credentials <file>', 'gateway and credentials', 'tmp/cluster/credentials.json')
    .option('--database <name>', "the cell's database (default: from tools/infra with --local)")
    .option('--cell-entry <path>', 'the cell program, for reconciliation', 'dist/apps/cell/main.js')
    .option('--yes', 'do not ask for confirmation')
    .action((kind: string, options: DrillOptions, command: Command) =>
      run(async (session) => {
        const local = command.optsWithGlobals<{ local?: boolean }>().local === true;
        if (kind === 'migrate') {
          await migrationDrill(session, options, env);
          return;
        }
        if (kind !== 'failover' && kind !== 'unplanned') {
          throw new Error(`drill kinds: failover, unplanned, migrate; got '${kind}'`);
        }
        if (options.cell === undefined) throw new Error(`drill ${kind} needs --cell`);
        await failoverDrill(session, kind, options.cell, options, local, env);
      }),
    );
}

/** `drill failover|unplanned`: a cell's failover under load, checked on its shard. */
async function failoverDrill(
  session: Session,
  kind: 'failover' | 'unplanned',
  cellId: string,
  options: DrillOptions,
  local: boolean,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (kind === 'unplanned' && !local) {
    throw new Error('the unplanned drill kills a server process: --local only');
  }
  const database =
    options.database ??
    (local ? readInfraEndpoints().cells.find((c) => c.id === cellId)?.database : undefined);
  if (database === undefined) throw new Error("give --database (the cell's database)");
  const operationContext = cellOperationContext(session, local, env);
  const topologyStore = new TopologyStore(session.context.globalPool());
  const cellNow = async () => {
    const topology = (await topologyStore.load())?.value;
    if (topology === undefined) throw new Error('no topology (cellctl topology load)');
    return cellTopologyOf(topology, cellId);
  };
  const before = await cellNow();
  const toRegion =
    options.to ??
    before.nodes.find((node) => node.region !== before.primaryRegion)?.region ??
    before.standbyRegion;
  if (
    !(await session.confirm(
      options.yes,
      `Drill ${kind} of ${cellId} to ${toRegion} under ${options.load} payments/s for ${options.duration} s?`,
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
          { cellId, toRegion },
          (result) => void auditFailover(session, result),
        )
      : unplannedFailoverOperation(
          failover,
          {
            cellId,
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
      return reconcileWithCellProcess(resolve(options.cellEntry), cellId, url);
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
    report.operationOutcome !== 'done' ||
    report.rpo.missing > 0 ||
    !report.reconciliation.clean
  ) {
    throw new Error('the drill found a problem; see the report');
  }
}

/** Payers of a migration drill: half in the moving slots, half in the source cell's others. */
const migrationDrillPayerCount = 20;
/**
 * Each attempt's deadline in a migration drill: the SDK's own default. The freeze answers with a
 * refusal at once; a shorter deadline only turns a slow answer of a busy machine into a
 * DEADLINE_EXCEEDED the report must count as not retryable.
 */
const migrationDrillDeadlineMs = 5_000;
/** Reconciliation is repeated while money is in flight right after the load, this many times. */
const reconcileAttemptsMax = 5;
const reconcilePauseMs = 2_000;

/**
 * `drill migrate`: moves slots to another cell under payment load, half of it from users of the
 * moving slots, then checks both shards (every acknowledged payment once, where its slot lives
 * now), reconciles every cell and the clearing pairs, and writes the report.
 */
async function migrationDrill(
  session: Session,
  options: DrillOptions,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const { context, terminal } = session;
  if (options.slots === undefined || !slotListPattern.test(options.slots)) {
    throw new Error(`drill migrate needs --slots as comma-separated numbers`);
  }
  if (options.to === undefined) throw new Error('drill migrate needs --to <cell>');
  const addressSpec = env['CELLPAY_CELL_ADDRESSES'];
  if (addressSpec === undefined || addressSpec === '') {
    throw new Error('set CELLPAY_CELL_ADDRESSES (cell-1=host:port,...) so both cells reconcile');
  }
  const urls = shardUrls(context.settings.cellShardUrls);
  const shardPool = shardPoolsOf(urls, session.onClose);
  const routing = new RoutingStore(context.globalPool());
  const request = {
    slots: options.slots.split(',').map(Number),
    targetCellId: options.to,
    actor: context.settings.actor,
  };
  const plan = await planMigration(request, { routing, shardPool });
  const snapshot = await routing.loadSnapshot();
  if (snapshot === undefined) throw new Error('no routing table (cellctl routes init)');
  const stayingSlots = snapshot.slots
    .filter((slot) => slot.cellId === plan.sourceCellId && !plan.slots.includes(slot.slot))
    .map((slot) => slot.slot);
  const runId = randomBytes(4).toString('hex');
  const payers = migrationDrillPayers({
    runId,
    movingSlots: plan.slots,
    stayingSlots,
    slotCount: snapshot.slotCount,
    payers: migrationDrillPayerCount,
  });
  const gateway = readDrillGateway(options.credentials);
  const name = `migrate slots ${plan.slots.join(',')}: ${plan.sourceCellId} -> ${plan.targetCellId}`;
  terminal.out(
    `${name} (routing epoch ${plan.epoch}, ${plan.migrationId}); half of the payers live in the moving slots`,
  );
  if (
    !(await session.confirm(
      options.yes,
      `Drill: ${name} under ${options.load} payments/s for ${options.duration} s?`,
    ))
  ) {
    return;
  }
  let summary: MigrationSummary | undefined;
  const operation = slotMigrationOperation(
    name,
    (onProgress) =>
      migrateSlots(plan, request, {
        // With the source's ops addresses the freeze is confirmed by each of its processes;
        // without them the migration falls back to its fixed wait and reports it as assumed.
        ...migrationDependenciesOf(
          context,
          routing,
          shardPool,
          addressSpec,
          env['CELLPAY_CELL_OPS_ADDRESSES'],
        ),
        onProgress: (event) => {
          onProgress(event);
          terminal.err(progressLine(event));
        },
      }),
    (result) => {
      summary = result;
    },
  );
  const shards = [...urls].map(([cellId, url]) => {
    const endpoint = mysqlEndpointOf(url, 'CELLPAY_CELL_SHARDS');
    return { cellId, endpoint: { ...endpoint, database: endpoint.database ?? '' } };
  });
  const report = await runDrill({
    kind: 'migrate',
    target: new DrillPaymentTarget(
      gateway,
      { ...drillLoadSettingsDefault, deadlineMs: migrationDrillDeadlineMs },
      { runId, payers },
    ),
    operation,
    verifier: new MigrationDrillVerifier(
      {
        source: shardPool(plan.sourceCellId),
        target: shardPool(plan.targetCellId),
        movingSlots: plan.slots,
        moved: () => summary?.epochs.after !== undefined && summary.outcome !== 'aborted',
      },
      () => reconcileEveryCell(shards),
    ),
    ratePerSecond: Number(options.load),
    durationSeconds: Number(options.duration),
    operationAtSeconds: Number(options.at),
    rtoGroup: movingSlotsGroup,
    progress: (line) => terminal.out(line),
  });
  const written = writeDrillReport(report, options.out);
  await new AuditLog(context.globalPool()).record({
    actor: context.settings.actor,
    action: 'drill.migrate',
    subject: `${plan.slots.join(',')}:${plan.sourceCellId}->${plan.targetCellId} (${plan.migrationId})`,
    before: { epoch: plan.epoch },
    after: {
      outcome: report.operationOutcome,
      reason: report.operationError,
      rtoMs: report.rto.longestGapMs,
      rpoMissing: report.rpo.missing,
      placement: report.placement,
      onlyRetryableErrorsDuringFreeze: report.errorClasses.onlyRetryableInWindow,
      reconciliation: report.reconciliation,
      report: written.jsonPath,
    },
  });
  terminal.out(
    `operation ${report.operationOutcome}${report.operationError === null ? '' : ` (${report.operationError})`}; ` +
      `RTO (moving slots) ${report.rto.longestGapMs} ms; RPO ${report.rpo.missing} of ${report.rpo.acknowledged}; ` +
      `duplicated ${report.placement?.duplicated ?? 0}, misplaced ${report.placement?.misplaced ?? 0}, ` +
      `kept on the source with their payee ${report.placement?.keptOnSource ?? 0}; ` +
      `only retryable errors during the ${report.errorClasses.window?.name ?? 'operation'}: ${report.errorClasses.onlyRetryableInWindow ? 'yes' : 'no'}; ` +
      `reconciliation ${report.reconciliation.summary}; report ${written.markdownPath}`,
  );
  if (
    report.operationOutcome !== 'done' ||
    report.rpo.missing > 0 ||
    (report.placement?.duplicated ?? 0) > 0 ||
    (report.placement?.misplaced ?? 0) > 0 ||
    !report.errorClasses.onlyRetryableInWindow ||
    !report.reconciliation.clean
  ) {
    throw new Error('the drill found a problem; see the report');
  }
}

/**
 * Every cell's own books and the clearing pairs between them (what `cellctl reconcile --global`
 * runs). Right after the load, cross-cell payments of the moved users may still be settling: a
 * difference is checked again a few times (`reconcileAttemptsMax`) before it counts.
 */
async function reconcileEveryCell(
  shards: readonly CellShard[],
): Promise<{ clean: boolean; summary: string }> {
  let summary = 'not run';
  for (let attempt = 1; attempt <= reconcileAttemptsMax; attempt += 1) {
    const result = await runInRequestContext({ requestId: newRequestId(), stress: false }, () =>
      reconcileShards(shards, { global: true }),
    );
    const cellsClean = result.cells.every((cell) => cell.report.clean);
    const clean = cellsClean && (result.global?.clean ?? false);
    summary =
      result.cells
        .map(
          ({ cellId, report }) =>
            `${cellId} ${report.clean ? 'clean' : `${report.differenceCount} difference(s)`}`,
        )
        .join(', ') +
      `; global ${result.global === undefined ? 'not run' : result.global.clean ? `clean (${result.global.quiet ? 'quiet' : 'money in flight'})` : 'DIFFERENCES'}` +
      (attempt > 1 ? `; attempt ${attempt}` : '');
    if (clean) return { clean, summary };
    if (attempt < reconcileAttemptsMax) {
      await new Promise((next) => setTimeout(next, reconcilePauseMs));
    }
  }
  return { clean: false, summary };
}
