// Entry point of the relay process: the settlement outbox relay and inbound-event consumer of one
// cell (docs/settlement.md). Stops cleanly on SIGTERM/SIGINT.
import 'reflect-metadata';

import { ConfigError } from '@cellpay/config';
import { followCellPrimary } from '@cellpay/global-data-access';
import { createLogger, exitAfterShutdown, runBoundedShutdown } from '@cellpay/observability';

import { startRelayRuntime, type RelayRuntime } from '@cellpay/settlement-cell';

import { readRelayConfig, relayRuntimeOptionsOf } from './relay-config';

/**
 * Bounds of the relay's shutdown: the topology follower (a repoint in flight included) and the
 * runtime's own bounded stop. Within the 15 s a supervisor waits before SIGKILL, and the process
 * exits after them whatever its MySQL, Redis or Kafka did.
 */
const shutdownLimitsMs = {
  following: 1_500,
  runtime: 12_500,
} as const;

async function main(): Promise<number> {
  const config = readRelayConfig();
  const logger = createLogger('relay', { level: config.LOG_LEVEL });
  let options = relayRuntimeOptionsOf(config);
  let runtime: RelayRuntime | undefined;
  let shuttingDown = false;
  // After a failover the whole runtime restarts on the new primary: its leader lock, outbox reader
  // and inbox writer all live on the shard, and a restart hands them over in one clean step. The
  // follower runs repoints one at a time; once a shutdown began, none starts a runtime any more.
  const repoint = async (host: string, port: number): Promise<boolean> => {
    if (shuttingDown) return false;
    if (runtime !== undefined && options.shard.host === host && options.shard.port === port) {
      return false;
    }
    const previous = runtime;
    runtime = undefined;
    // The old runtime's stop is bounded step by step (its primary may be dead), so a repoint
    // always reaches the new primary.
    await previous?.stop();
    if (shuttingDown) return false;
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
  shuttingDown = true;
  await runBoundedShutdown(
    [
      {
        name: 'topology-follower',
        limitMs: shutdownLimitsMs.following,
        run: async () => following?.close(),
      },
      // Read after the follower step: a repoint that was starting a runtime has finished by now,
      // or gave up its bound (and then the exit below ends what it started).
      {
        name: 'relay-runtime',
        limitMs: shutdownLimitsMs.runtime,
        run: async () => runtime?.stop(),
      },
    ],
    logger,
  );
  logger.info('relay stopped');
  exitAfterShutdown(0);
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
