// Entry point of the gateway process: the public gRPC edge on the real stack (credentials and the
// routing table from the global zone, nonces and rate limits in Redis, cells over gRPC).
import { readFileSync } from 'node:fs';

import { ConfigError } from '@cellpay/config';
import { createMysqlPool, createRedis } from '@cellpay/connections';
import { NonceStore, RateLimiter } from '@cellpay/gateway-data-access';
import {
  Authenticator,
  breakerStateValue,
  CellBreakers,
  cellBreakerDefaults,
  createAuthenticatorPorts,
} from '@cellpay/gateway-edge';
import {
  GatewayService,
  GrpcCellTransport,
  isCellFailure,
  requiredScopes,
  startGatewayServer,
} from '@cellpay/gateway-server';
import {
  createSwitchFollower,
  CredentialStore,
  RoutingFollower,
  RoutingStore,
  routingRedisKeys,
  SecretBox,
  SwitchStore,
  switchRedisKeys,
} from '@cellpay/global-data-access';
import {
  createCellpayMetrics,
  createLogger,
  createMetricsRegistry,
  exitAfterShutdown,
  ReadinessState,
  runBoundedShutdown,
  startOpsServer,
} from '@cellpay/observability';

import { cellAddressesOf, readGatewayConfig } from './gateway-config';

function endpointOf(url: string): {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
} {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || '3306'),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
  };
}

async function main(): Promise<number> {
  const config = readGatewayConfig();
  const logger = createLogger('gateway', { level: config.LOG_LEVEL });
  const registry = createMetricsRegistry();
  const metrics = createCellpayMetrics(registry);
  const readiness = new ReadinessState(['routing', 'switches']);
  const ops = await startOpsServer({ port: config.CELLPAY_OPS_PORT, registry, readiness });

  const pool = createMysqlPool(endpointOf(config.CELLPAY_GLOBAL_MYSQL_URL), {
    connectionsMax: 8,
    queuedRequestsMax: 1_000,
    connectTimeoutMs: 2_000,
  });
  const redisUrl = new URL(config.CELLPAY_REDIS_URL);
  const redisEndpoint = { host: redisUrl.hostname, port: Number(redisUrl.port || '6379') };
  const redis = createRedis(redisEndpoint);
  const routingSubscriber = createRedis(redisEndpoint);
  const switchSubscriber = createRedis(redisEndpoint);
  const prefix = config.CELLPAY_REDIS_PREFIX;
  const onFollowError = (error: unknown): void => {
    logger.warn({ err: error }, 'global-zone follower refresh failed; keeping the last document');
  };

  const routing = new RoutingFollower(
    new RoutingStore(pool),
    redis,
    routingSubscriber,
    { keys: routingRedisKeys(prefix) },
    onFollowError,
  );
  const initial = await routing.start();
  metrics.routingEpoch.set(Number(initial.epoch));
  routing.onChange((table) => metrics.routingEpoch.set(Number(table.epoch)));
  readiness.set('routing', true, `epoch ${initial.epoch}`);

  const switches = createSwitchFollower(
    new SwitchStore(pool),
    redis,
    switchSubscriber,
    { keys: switchRedisKeys(prefix) },
    onFollowError,
  );
  await switches.start();
  readiness.set('switches', true);

  const authenticator = new Authenticator(
    createAuthenticatorPorts({
      credentials: new CredentialStore(pool, SecretBox.fromBase64(config.CELLPAY_CREDENTIAL_KEK)),
      nonces: new NonceStore(redis, `${prefix}:nonce`),
      rateLimiter: new RateLimiter(redis, `${prefix}:ratelimit`),
      stressTrafficRejected: () => switches.current().value.stressTrafficRejected,
      merchantRateCap: (merchantId) => switches.current().value.merchantRateCaps[merchantId],
      rateLimited: (ownerId) => metrics.rateLimitedTotal.inc({ merchant: ownerId }),
    }),
    requiredScopes,
  );
  const breakers = new CellBreakers({ ...cellBreakerDefaults, isCellFailure }, (cellId, state) =>
    metrics.circuitBreakerState.set({ cell: cellId }, breakerStateValue[state]),
  );
  const transport = new GrpcCellTransport(cellAddressesOf(config.CELLPAY_CELL_ADDRESSES));
  const service = new GatewayService({
    authenticator,
    routing,
    transport,
    breakers,
    options: { cellCallDeadlineMs: config.CELLPAY_CELL_CALL_DEADLINE_MS },
    onCellOverloaded: (cellId) => metrics.cellOverloadedTotal.inc({ cell: cellId }),
  });
  const tls =
    config.CELLPAY_TLS_CA_FILE === ''
      ? undefined
      : {
          caPem: readFileSync(config.CELLPAY_TLS_CA_FILE),
          certificatePem: readFileSync(config.CELLPAY_TLS_CERT_FILE),
          privateKeyPem: readFileSync(config.CELLPAY_TLS_KEY_FILE),
        };
  const server = await startGatewayServer({
    host: config.CELLPAY_GRPC_HOST,
    port: config.CELLPAY_GRPC_PORT,
    service,
    logger,
    metrics,
    drainTimeoutMs: config.CELLPAY_DRAIN_TIMEOUT_MS,
    ...(tls === undefined ? {} : { tls }),
  });
  logger.info(
    { port: server.port, opsPort: ops.port, epoch: String(initial.epoch) },
    'gateway ready',
  );

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('gateway shutting down: draining calls in flight');
  readiness.set('routing', false, 'shutting down');
  const limits = shutdownLimitsMs;
  await runBoundedShutdown(
    [
      // The server's own drain deadline (CELLPAY_DRAIN_TIMEOUT_MS) force-closes calls still in
      // flight; the margin covers the force close itself.
      {
        name: 'grpc-drain',
        limitMs: config.CELLPAY_DRAIN_TIMEOUT_MS + limits.drainMargin,
        run: () => server.shutdown(),
      },
      {
        name: 'cell-transport',
        limitMs: limits.connection,
        run: async () => {
          breakers.shutdown();
          transport.close();
        },
      },
      // Disconnecting Redis first ends follower stops that would wait on an unreachable server.
      {
        name: 'redis',
        limitMs: limits.connection,
        run: async () => {
          redis.disconnect();
          routingSubscriber.disconnect();
          switchSubscriber.disconnect();
        },
      },
      { name: 'routing-follower', limitMs: limits.connection, run: () => routing.stop() },
      { name: 'switch-follower', limitMs: limits.connection, run: () => switches.stop() },
      { name: 'ops-server', limitMs: limits.connection, run: () => ops.close() },
      { name: 'global-pool', limitMs: limits.connection, run: () => pool.end() },
    ],
    logger,
  );
  logger.info('gateway stopped');
  exitAfterShutdown(0);
  return 0;
}

/**
 * Bounds of the gateway's shutdown steps after the gRPC drain (whose own bound is
 * CELLPAY_DRAIN_TIMEOUT_MS): with Redis or the global zone already gone each step gives up after
 * its bound, so the process exits within drain + 0.5 + 6 x 0.5 s (13.5 s with the default 10 s
 * drain, inside the 15 s a supervisor waits before SIGKILL).
 */
const shutdownLimitsMs = {
  drainMargin: 500,
  connection: 500,
} as const;

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      error instanceof ConfigError
        ? `${error.message}\n`
        : `gateway: ${String(error instanceof Error ? error.stack : error)}\n`,
    );
    process.exitCode = 1;
  },
);
