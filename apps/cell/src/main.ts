// Entry point of the cell process: one cell's payment, account and accounting services on its own
// MySQL shard. Subcommands: serve (default), migrate, reconcile (see docs/processes.md).
import 'reflect-metadata';

import { startCellGrpcServer } from '@cellpay/cell-server';
import { ConfigError } from '@cellpay/config';
import { createLogger } from '@cellpay/observability';

import { readCellConfig } from './cell-config';
import { CellMaintenance } from './cell-maintenance';
import { createCellRuntime } from './cell-runtime';
import { startCellRouting } from './cell-routing';
import { followShardTopology } from './shard-topology';
import { migrateCommand } from './commands/migrate.command';
import { reconcileCommand } from './commands/reconcile.command';
import { startCellObservability } from './observability/cell-observability';
import { GrpcMetricsInterceptor } from './observability/grpc-metrics.interceptor';
import { TimedUnitOfWork } from './observability/timed-unit-of-work';

const subcommands = ['serve', 'migrate', 'reconcile'] as const;

async function main(argv: readonly string[]): Promise<number> {
  const subcommand = argv[0] ?? 'serve';
  if (!(subcommands as readonly string[]).includes(subcommand)) {
    process.stderr.write(`usage: cell [${subcommands.join('|')}]\n`);
    return 2;
  }
  const config = readCellConfig();
  const logger = createLogger('cell', { level: config.LOG_LEVEL });
  if (subcommand === 'migrate') return migrateCommand(config, logger);
  const runtime = createCellRuntime(config);
  if (subcommand === 'reconcile') {
    try {
      return await reconcileCommand(runtime.persistence, (text) => process.stdout.write(text));
    } finally {
      await runtime.close();
    }
  }
  const observability = await startCellObservability(config, runtime, logger);
  const routing = await startCellRouting(config, logger);
  const topology = await followShardTopology(config, runtime, logger);
  const persistence = {
    ...runtime.persistence,
    unitOfWork: new TimedUnitOfWork(
      runtime.persistence.unitOfWork,
      observability.metrics,
      config.CELLPAY_CELL_ID,
    ),
  };
  const app = await startCellGrpcServer(persistence, {
    port: config.CELLPAY_GRPC_PORT,
    logger,
    ...(routing === undefined ? {} : { routing: routing.follower }),
    interceptors: [new GrpcMetricsInterceptor(observability.metrics, config.CELLPAY_CELL_ID)],
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
