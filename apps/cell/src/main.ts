// Entry point of the cell process: one cell's payment, account and accounting services on its own
// Entry point of the cell process: one cell's payment, account and accounting services on its own
// MySQL shard, and its side of cross-cell settlement (the SettlementService). Subcommands: serve
// (default), migrate, reconcile [--shadow], shadow-clean [--confirm <database>] [--wait-seconds
// <n>] (see docs/processes.md and docs/shadow-traffic.md).
import 'reflect-metadata';

import type { Server as GrpcServer } from '@grpc/grpc-js';

import { startCellGrpcServer } from '@cellpay/cell-server';
import { ConfigError } from '@cellpay/config';
import { mysqlEndpointOf } from '@cellpay/connections';
import { createLogger, exitAfterShutdown, runBoundedShutdown } from '@cellpay/observability';

import { admissionSettingsOf, readCellConfig } from './cell-config';
import { CellMaintenance } from './cell-maintenance';
import { DrainingUnitOfWork } from './draining-unit-of-work';
import { createCellRuntime } from './cell-runtime';
import { startCellRouting } from './cell-routing';
import { cellSettlementExtension } from './cell-settlement';
import { startCellSwitches } from './cell-switches';
import { followShardTopology } from './shard-topology';
import { migrateCommand } from './commands/migrate.command';
import { reconcileCommand } from './commands/reconcile.command';
import { parseShadowCleanArguments, shadowCleanCommand } from './commands/shadow-clean.command';
import { startCellObservability } from './observability/cell-observability';
import { GrpcMetricsInterceptor } from './observability/grpc-metrics.interceptor';
import { TimedUnitOfWork } from './observability/timed-unit-of-work';

const subcommands = ['serve', 'migrate', 'reconcile', 'shadow-clean'] as const;

async function main(argv: readonly string[]): Promise<number> {
  const subcommand = argv[0] ?? 'serve';
  if (!(subcommands as readonly string[]).includes(subcommand)) {
    process.stderr.write(`usage: cell [${subcommands.join('|')}]\n`);
    return 2;
  }
  const config = readCellConfig();
  const logger = createLogger('cell', { level: config.LOG_LEVEL });
  const write = (text: string): void => void process.stdout.write(text);
  if (subcommand === 'migrate') return migrateCommand(config, logger);
  if (subcommand === 'shadow-clean') {
    const parsed = parseShadowCleanArguments(argv.slice(1));
    if ('error' in parsed) {
      process.stderr.write(`${parsed.error}\n`);
      return 2;
    }
    const endpoint = mysqlEndpointOf(config.CELLPAY_MYSQL_URL);
    return shadowCleanCommand(
      {
        shard: { ...endpoint, database: endpoint.database ?? '' },
        confirm: parsed.confirm,
        drainWaitMs: parsed.drainWaitSeconds * 1000,
      },
      write,
    );
  }
  const runtime = createCellRuntime(config);
  if (subcommand === 'reconcile') {
    const shadow = argv[1] === '--shadow';
    if (argv.length > (shadow ? 2 : 1)) {
      process.stderr.write('usage: cell reconcile [--shadow]\n');
      await runtime.close();
      return 2;
    }
    try {
      return await reconcileCommand(runtime.persistence, write, { shadow });
    } finally {
      await runtime.close();
    }
  }
  const observability = await startCellObservability(config, runtime, logger);
  const routing = await startCellRouting(config, logger, observability);
  const topology = await followShardTopology(config, runtime, logger);
  const switches = await startCellSwitches(config, logger);
  const calls = new DrainingUnitOfWork(
    new TimedUnitOfWork(
      runtime.persistence.unitOfWork,
      observability.metrics,
      config.CELLPAY_CELL_ID,
    ),
  );
  const persistence = {
    ...runtime.persistence,
    unitOfWork: calls,
    ...(routing === undefined ? {} : { slotOwnership: routing.slotOwnership }),
  };
  const app = await startCellGrpcServer(persistence, {
    port: config.CELLPAY_GRPC_PORT,
    logger,
    ...(routing === undefined ? {} : { routing: routing.follower }),
    interceptors: [new GrpcMetricsInterceptor(observability.metrics, config.CELLPAY_CELL_ID)],
    extensions: [cellSettlementExtension(config, routing)],
    admission: {
      settings: admissionSettingsOf(config),
      ...(switches === undefined ? {} : { stressSwitch: switches }),
      metrics: { registry: observability.metrics, cellId: config.CELLPAY_CELL_ID },
    },
  });
  observability.readiness.set('grpc', true, `listening on ${config.CELLPAY_GRPC_PORT}`);
  const maintenance = new CellMaintenance(app, runtime.persistence.glPostingSwitch, logger);
  maintenance.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('cell shutting down');
  observability.readiness.set('grpc', false, 'shutting down');
  // Stop accepting calls and let those in flight finish, responses included (bounded); then shut
  // the door on units of work (a call past the bound gets a retryable UNAVAILABLE), wait for the
  // units still running, and only then force the server closed and end the pool, so no call
  // meets a closed pool.
  const limits = shutdownLimitsMs;
  await runBoundedShutdown(
    [
      { name: 'maintenance', limitMs: limits.maintenance, run: () => maintenance.stop() },
      {
        name: 'drain-calls',
        limitMs: limits.drainCalls,
        run: () =>
          new Promise<void>((resolve) => app.unwrap<GrpcServer>().tryShutdown(() => resolve())),
      },
      {
        name: 'drain-units-of-work',
        limitMs: limits.drainUnits,
        run: async () => {
          calls.stopAccepting();
          if (!(await calls.drained(limits.drainUnits))) {
            logger.warn({ inFlight: calls.inFlight }, 'units of work still running at the bound');
          }
        },
      },
      { name: 'grpc-server', limitMs: limits.connection, run: () => app.close() },
      { name: 'topology-follower', limitMs: limits.connection, run: async () => topology?.close() },
      { name: 'routing-follower', limitMs: limits.connection, run: async () => routing?.close() },
      { name: 'switch-follower', limitMs: limits.connection, run: async () => switches?.close() },
      { name: 'observability', limitMs: limits.connection, run: () => observability.close() },
      { name: 'shard-pool', limitMs: limits.connection, run: () => runtime.close() },
    ],
    logger,
  );
  logger.info('cell stopped');
  exitAfterShutdown(0);
  return 0;
}

/**
 * Bounds of the serving cell's shutdown steps: with its MySQL or Redis already gone each step
 * gives up after its bound, so the whole stop takes at most 1.5 + 5 + 1 + 5 x 1 = 12.5 s, within
 * the 15 s a supervisor waits before SIGKILL, and the process then exits.
 */
const shutdownLimitsMs = {
  maintenance: 1_500,
  /** Calls in flight get this long to finish (the server accepts no new ones meanwhile). */
  drainCalls: 5_000,
  /** Units of work of calls that outlived the drain, after the door closed. */
  drainUnits: 1_000,
  connection: 1_000,
} as const;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      error instanceof ConfigError
        ? `${error.message}\n`
        : `cell: ${String(error instanceof Error ? error.stack : error)}\n`,
    );
    process.exitCode = 1;
  },
);
