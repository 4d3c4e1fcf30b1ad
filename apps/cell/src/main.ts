// Entry point of the cell process: one cell's payment, account and accounting services on its own
// Entry point of the cell process: one cell's payment, account and accounting services on its own
// MySQL shard, and its side of cross-cell settlement (the SettlementService). Subcommands: serve
// (default), migrate, reconcile [--shadow], shadow-clean [--confirm <database>] (see
// docs/processes.md and docs/shadow-traffic.md).
import 'reflect-metadata';

import { startCellGrpcServer } from '@cellpay/cell-server';
import { ConfigError } from '@cellpay/config';
import { mysqlEndpointOf } from '@cellpay/connections';
import { createLogger } from '@cellpay/observability';

import { readCellConfig } from './cell-config';
import { CellMaintenance } from './cell-maintenance';
import { createCellRuntime } from './cell-runtime';
import { startCellRouting } from './cell-routing';
import { cellSettlementExtension } from './cell-settlement';
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
      { shard: { ...endpoint, database: endpoint.database ?? '' }, confirm: parsed.confirm },
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
  const persistence = {
    ...runtime.persistence,
    unitOfWork: new TimedUnitOfWork(
      runtime.persistence.unitOfWork,
      observability.metrics,
      config.CELLPAY_CELL_ID,
    ),
    ...(routing === undefined ? {} : { slotOwnership: routing.slotOwnership }),
  };
  const app = await startCellGrpcServer(persistence, {
    port: config.CELLPAY_GRPC_PORT,
    logger,
    ...(routing === undefined ? {} : { routing: routing.follower }),
    interceptors: [new GrpcMetricsInterceptor(observability.metrics, config.CELLPAY_CELL_ID)],
    extensions: [cellSettlementExtension(config, routing)],
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
  await maintenance.stop();
  await app.close();
  await topology?.close();
  await routing?.close();
  await observability.close();
  await runtime.close();
  return 0;
}

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
