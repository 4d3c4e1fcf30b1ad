import {
  type handleUnaryCall,
  loadPackageDefinition,
  Metadata,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';

import { requestIdOf } from '@cellpay/gateway-edge';
import {
  type CellpayMetrics,
  GrpcCallTimer,
  type Logger,
  requestContextMetadata,
  runInRequestContext,
} from '@cellpay/observability';
import { publicProtoPath } from '@cellpay/proto';

import { toGatewayServiceError } from './gateway-error.filter';
import type { GatewayService } from './gateway.service';
import { methodPathOf, publicOperations } from './public-operations';

export const publicServiceNames = ['cellpay.v1.Payments', 'cellpay.v1.Wallets'] as const;

/** Optional mutual TLS on the public listener: clients must present a certificate from `caPem`. */
export interface GatewayTls {
  readonly caPem: Buffer;
  readonly certificatePem: Buffer;
  readonly privateKeyPem: Buffer;
}

export interface GatewayServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly service: GatewayService;
  readonly logger: Logger;
  readonly metrics?: Pick<CellpayMetrics, 'grpcRequestsTotal' | 'grpcRequestDurationSeconds'>;
  readonly tls?: GatewayTls;
  /** How long shutdown waits for calls in flight before cutting them off. */
  readonly drainTimeoutMs?: number;
  /** Largest request accepted; every public request is a few hundred bytes. */
  readonly receiveMessageBytesMax?: number;
}

export interface GatewayServer {
  readonly port: number;
  /** Stops accepting calls, reports NOT_SERVING, drains calls in flight, then closes. */
  shutdown(): Promise<void>;
}

/**
 * Signed requests are verified over the message as decoded: defaults left out (they are absent on
 * the wire and from the signed view), 64-bit values as strings, no synthetic oneof fields.
 */
const publicLoaderOptions = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: false,
};

function headersOf(metadata: Metadata): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === 'string') headers[key] = value;
  }
  return headers;
}

/** The public gRPC server: Payments and Wallets, grpc.health.v1 and server reflection. */
export async function startGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const definition = loadSync(publicProtoPath, publicLoaderOptions);
  const root = loadPackageDefinition(definition);
  const v1 = (root['cellpay'] as GrpcObject)['v1'] as GrpcObject;
  const server = new Server({
    'grpc.max_receive_message_length': options.receiveMessageBytesMax ?? 64 * 1024,
  });
  const health = new HealthImplementation(
    Object.fromEntries(['', ...publicServiceNames].map((name) => [name, 'SERVING'])),
  );
  for (const serviceName of ['Payments', 'Wallets'] as const) {
    const constructor = v1[serviceName] as ServiceClientConstructor;
    const implementation: UntypedServiceImplementation = {};
    for (const operation of publicOperations.values()) {
      if (operation.service !== serviceName) continue;
      const path = methodPathOf(operation);
      const timer =
        options.metrics === undefined
          ? undefined
          : new GrpcCallTimer(options.metrics, {
              service: `cellpay.v1.${serviceName}`,
              method: operation.method,
              cell: 'gateway',
            });
      const handler: handleUnaryCall<Record<string, unknown>, object> = (call, callback) => {
        const startedAtMs = timer?.start() ?? 0;
        const headers = headersOf(call.metadata);
        let requestId: string;
        try {
          requestId = requestIdOf(headers);
        } catch (error) {
          const mapped = toGatewayServiceError(error);
          timer?.finish(startedAtMs, mapped.code);
          callback(mapped);
          return;
        }
        // The caller learns the ID its call ran under, to quote it when asking about the call.
        const responseMetadata = new Metadata();
        responseMetadata.set(requestContextMetadata.requestId, requestId);
        call.sendMetadata(responseMetadata);
        void runInRequestContext({ requestId, stress: false }, () =>
          options.service.handle(path, operation, call.request, headers).then(
            (response) => {
              timer?.finish(startedAtMs, 0);
              options.logger.debug({ method: path, code: 0 }, 'gateway call');
              callback(null, response);
            },
            (error: unknown) => {
              const mapped = toGatewayServiceError(error);
              if (mapped.code === 13) {
                options.logger.error({ err: error, method: path }, 'unexpected gateway error');
              } else {
                options.logger.debug({ method: path, code: mapped.code }, 'gateway call');
              }
              timer?.finish(startedAtMs, mapped.code);
              callback(mapped);
            },
          ),
        );
      };
      implementation[operation.method] = handler;
    }
    server.addService(constructor.service as ServiceDefinition, implementation);
  }
  // Reflection covers cellpay.v1 only: proto-loader's descriptor of health.proto has a map entry
  // that grpcurl rejects, so health checks with grpcurl pass the health.proto file (docs/api.md).
  new ReflectionService(definition).addToServer(server);
  health.addToServer(server);
  const credentials =
    options.tls === undefined
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(
          options.tls.caPem,
          [{ cert_chain: options.tls.certificatePem, private_key: options.tls.privateKeyPem }],
          true,
        );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  options.logger.info({ port, services: publicServiceNames }, 'gateway gRPC server listening');
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  return {
    port,
    shutdown: () =>
      new Promise<void>((resolve) => {
        for (const name of ['', ...publicServiceNames]) health.setStatus(name, 'NOT_SERVING');
        const cutOff = setTimeout(() => {
          options.logger.warn({ drainTimeoutMs }, 'calls still in flight at the drain deadline');
          server.forceShutdown();
          resolve();
        }, drainTimeoutMs);
        cutOff.unref();
        server.tryShutdown(() => {
          clearTimeout(cutOff);
          resolve();
        });
      }),
  };
}
