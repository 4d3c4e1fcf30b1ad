// Entry point of the relay process: the settlement outbox relay and inbound-event consumer of one
// cell (docs/settlement.md). Stops cleanly on SIGTERM/SIGINT.
import 'reflect-metadata';

import { ConfigError } from '@cellpay/config';
import { createLogger } from '@cellpay/observability';

import { startRelayRuntime } from '@cellpay/settlement-cell';

import { readRelayConfig, relayRuntimeOptionsOf } from './relay-config';

async function main(): Promise<number> {
  const config = readRelayConfig();
  const logger = createLogger('relay', { level: config.LOG_LEVEL });
  const runtime = await startRelayRuntime(relayRuntimeOptionsOf(config), logger);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('relay shutting down');
  await runtime.stop();
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
