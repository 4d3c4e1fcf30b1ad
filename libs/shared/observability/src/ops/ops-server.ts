import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ReadinessState } from './readiness';

/** Limits of the ops server. It is scraped and probed by machines, so every request is tiny. */
export const opsServerLimits = {
  /** Request headers larger than this are refused by Node (431) before any handler runs. */
  headerSizeBytesMax: 8 * 1024,
  headersCountMax: 32,
  /** A client that has not sent its whole request by then is cut off. */
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  /** Concurrent connections; probes and one or two scrapers need a handful. */
  connectionsMax: 64,
} as const;

export interface OpsServerOptions {
  /** 0 picks a free port (tests); processes use CELLPAY_OPS_PORT. */
  readonly port: number;
  /** Interface to listen on; all interfaces unless given (the kubelet and Prometheus are remote). */
  readonly host?: string;
  readonly registry: Registry;
  readonly readiness: ReadinessState;
  /**
   * The routing epoch the process enforces, served as `GET /routing` (`{"epoch":"12"}`, `null`
   * when it follows no table) so the control plane can wait for it; no route when absent.
   */
  readonly routingEpoch?: () => bigint | undefined;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

const livenessBody = Buffer.from('{"status":"ok"}\n');
const notFoundBody = Buffer.from('{"error":"not_found"}\n');
const methodNotAllowedBody = Buffer.from('{"error":"method_not_allowed"}\n');
const bodyNotAcceptedBody = Buffer.from('{"error":"request_body_not_accepted"}\n');
const metricsFailedBody = Buffer.from('{"error":"metrics_collection_failed"}\n');
const jsonContentType = 'application/json; charset=utf-8';

/**
 * Serves /healthz, /readyz, /metrics (and /routing when given) on Node's http module. Liveness,
 * readiness and the routing epoch answer from memory; /metrics serializes the registry, and concurrent scrapes share one serialization. Any
 * request with a body, any other path and any method but GET/HEAD is refused without reading more.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  let scrape: Promise<string> | undefined;
  const serializeMetrics = (): Promise<string> => {
    scrape ??= options.registry.metrics().finally(() => {
      scrape = undefined;
    });
    return scrape;
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      send(response, 405, jsonContentType, methodNotAllowedBody, true);
      return;
    }
    if (hasBody(request)) {
      send(response, 413, jsonContentType, bodyNotAcceptedBody, true);
      return;
    }
    const path = pathOf(request.url);
    if (path === '/healthz') {
      send(response, 200, jsonContentType, livenessBody, false);
    } else if (path === '/readyz') {
      const snapshot = options.readiness.snapshot();
      const body = Buffer.from(`${JSON.stringify(snapshot)}\n`);
      send(response, snapshot.ready ? 200 : 503, jsonContentType, body, false);
    } else if (path === '/routing' && options.routingEpoch !== undefined) {
      const epoch = options.routingEpoch();
      const body = Buffer.from(`${JSON.stringify({ epoch: epoch?.toString() ?? null })}\n`);
      send(response, 200, jsonContentType, body, false);
    } else if (path === '/metrics') {
      serializeMetrics().then(
        (text) => send(response, 200, options.registry.contentType, Buffer.from(text), false),
        () => send(response, 500, jsonContentType, metricsFailedBody, false),
      );
    } else {
      send(response, 404, jsonContentType, notFoundBody, false);
    }
  };

  const server: Server = createServer(
    {
      maxHeaderSize: opsServerLimits.headerSizeBytesMax,
      requestTimeout: opsServerLimits.requestTimeoutMs,
    },
    handle,
  );
  server.maxHeadersCount = opsServerLimits.headersCountMax;
  server.headersTimeout = opsServerLimits.requestTimeoutMs;
  server.keepAliveTimeout = opsServerLimits.keepAliveTimeoutMs;
  server.maxConnections = opsServerLimits.connectionsMax;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined && length !== '0') return true;
  return request.headers['transfer-encoding'] !== undefined;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : url.slice(0, queryStart);
}

/**
 * Writes a whole response. `close` ends the connection after it, used when the request was refused
 * and may still carry bytes we will not read.
 */
function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: Buffer,
  close: boolean,
): void {
  if (response.destroyed) return;
  response.statusCode = status;
  response.setHeader('content-type', contentType);
  response.setHeader('content-length', body.length);
  response.setHeader('cache-control', 'no-store');
  if (close) response.setHeader('connection', 'close');
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
