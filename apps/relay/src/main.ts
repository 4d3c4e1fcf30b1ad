// Entry point of the relay process: the settlement outbox relay and inbound-event consumer of one
// cell (docs/settlement.md). Stops cleanly on SIGTERM/SIGINT.
import 'reflect-metadata';

import { ConfigError } from '@cellpay/config';
import { followCellPrimary } from '@cellpay/global-data-access';
import { createLogger } from '@cellpay/observability';

import { startRelayRuntime, type RelayRuntime } from '@cellpay/settlement-cell';

import { readRelayConfig, relayRuntimeOptionsOf } from './relay-config';

async function main(): Promise<number> {
  const config = readRelayConfig();
  const logger = createLogger('relay', { level: config.LOG_LEVEL });
  let options = relayRuntimeOptionsOf(config);
  let runtime: RelayRuntime | undefined;
  // After a failover the whole runtime restarts on the new primary: its leader lock, outbox reader
  // and inbox writer all live on the shard, and a restart hands them over in one clean step.
  const repoint = async (host: string, port: number): Promise<boolean> => {
    if (runtime !== undefined && options.shard.host === host && options.shard.port === port) {
      return false;
    }
    await runtime?.stop();
    runtime = undefined;
    options = { ...options, shard: { ...options.shard, host, port } };
    runtime = await startRelayRuntime(options, logger);
    return true;
  };
  const following = config.CELLPAY_FOLLOW_TOPOLOGY
    ? await followCellPrimary({
        cellId: config.CELLPAY_CELL_ID,
        globalMysqlUrl: config.CELLPAY_GLOBAL_MYSQL_URL,
        redisUrl: config.CELLPAY_REDIS_URL,
        redisPrefix: config.CELLPAY_REDIS_PREFIX,
        repoint,
        onRepointed: (primary) =>
          logger.info(
            {
              primary: `${primary.host}:${primary.port}`,
              topologyVersion: String(primary.version),
            },
            'relay runs on the shard primary',
          ),
        onError: (error) => logger.warn({ err: error }, 'topology follow or repoint failed'),
      })
    : undefined;
  runtime ??= await startRelayRuntime(options, logger);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('relay shutting down');
  await following?.close();
  await runtime?.stop();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      error instanceof ConfigError
        ? `${error.message}\n`
        : `relay: ${String(error instanceof Error ? error.stack : error)}\n`,
    );
    // A relay that failed to start may hold open sockets (ops server, Kafka, MySQL) that would keep
    // a half-started process alive; exit so the supervisor sees the failure and restarts it.
    process.exit(1);
  },
);
