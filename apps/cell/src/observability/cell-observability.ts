import {
  type CellpayMetrics,
  createCellpayMetrics,
  createMetricsRegistry,
  type Logger,
  ReadinessState,
  startOpsServer,
} from '@cellpay/observability';

import type { RoutingTable } from '@cellpay/routing';

import type { CellConfig } from '../cell-config';
import type { CellRuntime } from '../cell-runtime';

/** How often the shard is pinged for readiness: off the request path, bounded by its own timeout. */
const shardPingIntervalMs = 2_000;

export interface CellObservability {
  /** The ops port actually listened on (CELLPAY_OPS_PORT, or the free one picked for 0). */
  readonly port: number;
  readonly metrics: CellpayMetrics;
  readonly readiness: ReadinessState;
  /**
   * Exports the epoch of the routing table the cell enforces, as the `cellpay_routing_epoch` gauge
   * and on `GET /routing` (null until a table is followed), so a migration can wait for it.
   */
  followRouting(routing: RoutingSource): void;
  close(): Promise<void>;
}

/** The part of a routing follower the ops port reads. */
export interface RoutingSource {
  current(): RoutingTable;
  onChange(listener: (table: RoutingTable) => void): void;
}

/**
 * The cell's ops port: /healthz from memory, /readyz from checks refreshed in the background
 * (`grpc`, set by the caller once it listens; `shard`, a ping loop), /metrics from the registry.
 */
export async function startCellObservability(
  config: CellConfig,
  runtime: Pick<CellRuntime, 'ping'>,
  logger: Logger,
): Promise<CellObservability> {
  const registry = createMetricsRegistry();
  const metrics = createCellpayMetrics(registry);
  const readiness = new ReadinessState(['grpc', 'shard']);
  let routing: RoutingSource | undefined;
  const server = await startOpsServer({
    port: config.CELLPAY_OPS_PORT,
    registry,
    readiness,
    routingEpoch: () => routing?.current().epoch,
  });
  const pingShard = () =>
    runtime.ping().then(
      () => readiness.set('shard', true, 'answering'),
      (error: unknown) => {
        readiness.set('shard', false, error instanceof Error ? error.message : String(error));
        logger.warn({ err: error }, 'shard ping failed');
      },
    );
  await pingShard();
  const timer = setInterval(() => void pingShard(), shardPingIntervalMs);
  timer.unref();
  logger.info({ port: server.port }, 'cell ops server listening');
  return {
    port: server.port,
    metrics,
    readiness,
    followRouting: (source) => {
      routing = source;
      metrics.routingEpoch.set(Number(source.current().epoch));
      source.onChange((table) => metrics.routingEpoch.set(Number(table.epoch)));
    },
    close: async () => {
      clearInterval(timer);
      await server.close();
    },
  };
}
