import {
  type CellpayMetrics,
  createCellpayMetrics,
  createMetricsRegistry,
  type Logger,
  ReadinessState,
  startOpsServer,
} from '@cellpay/observability';

import type { CellConfig } from '../cell-config';
import type { CellRuntime } from '../cell-runtime';

/** How often the shard is pinged for readiness: off the request path, bounded by its own timeout. */
const shardPingIntervalMs = 2_000;

export interface CellObservability {
  /** The ops port actually listened on (CELLPAY_OPS_PORT, or the free one picked for 0). */
  readonly port: number;
  readonly metrics: CellpayMetrics;
  readonly readiness: ReadinessState;
  close(): Promise<void>;
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
  const server = await startOpsServer({ port: config.CELLPAY_OPS_PORT, registry, readiness });
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
    close: async () => {
      clearInterval(timer);
      await server.close();
    },
  };
}
