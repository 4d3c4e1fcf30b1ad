import {
  type CallOptions,
  type ChannelCredentials,
  credentials as grpcCredentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { cellProtoPath } from '@cellpay/proto';

export type CellServiceName = 'AccountService' | 'PaymentService' | 'SettlementService';

/** One forwarded call: which cell service and method, the request, and what travels with it. */
export interface CellCall {
  readonly service: CellServiceName;
  /** The method name as generated clients spell it (lower camel case, e.g. `pay`). */
  readonly method: string;
  readonly request: object;
  readonly metadata: Readonly<Record<string, string>>;
  readonly deadlineMs: number;
}

/** How the gateway reaches the cells; tests and the platform may supply their own. */
export interface CellTransport {
  call(cellId: string, call: CellCall): Promise<Record<string, unknown>>;
  close(): void;
}

type UnaryMethod = (
  request: object,
  metadata: Metadata,
  options: CallOptions,
  callback: (error: ServiceError | null, response: Record<string, unknown>) => void,
) => void;
type CellServiceClient = Record<string, UnaryMethod> & { close(): void };

const loaderOptions = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/**
 * gRPC clients of every cell's internal API, one channel per cell and service, created on first
 * use. Addresses come from configuration (or the platform); a cell missing from the map is a
 * configuration error reported as an unavailable cell by the caller.
 */
export class GrpcCellTransport implements CellTransport {
  private readonly clients = new Map<string, CellServiceClient>();
  private readonly services: Record<CellServiceName, ServiceClientConstructor>;

  constructor(
    private readonly addresses: ReadonlyMap<string, string>,
    private readonly channelCredentials: ChannelCredentials = grpcCredentials.createInsecure(),
  ) {
    const root = loadPackageDefinition(loadSync(cellProtoPath, loaderOptions));
    const v1 = ((root['cellpay'] as GrpcObject)['cell'] as GrpcObject)['v1'] as GrpcObject;
    this.services = {
      AccountService: v1['AccountService'] as ServiceClientConstructor,
      PaymentService: v1['PaymentService'] as ServiceClientConstructor,
      SettlementService: v1['SettlementService'] as ServiceClientConstructor,
    };
  }

  call(cellId: string, call: CellCall): Promise<Record<string, unknown>> {
    const client = this.client(cellId, call.service);
    const method = client[call.method];
    if (method === undefined) throw new Error(`cell API has no method ${call.method}`);
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(call.metadata)) metadata.set(key, value);
    return new Promise((resolve, reject) => {
      method.call(
        client,
        call.request,
        metadata,
        { deadline: Date.now() + call.deadlineMs },
        (error, response) => (error ? reject(error) : resolve(response)),
      );
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(cellId: string, service: CellServiceName): CellServiceClient {
    const key = `${cellId}/${service}`;
    const existing = this.clients.get(key);
    if (existing !== undefined) return existing;
    const address = this.addresses.get(cellId);
    if (address === undefined) throw new CellAddressUnknownError(cellId);
    const client = new this.services[service](address, this.channelCredentials, {
      // Fail fast on a dead cell instead of waiting for a reconnect within the deadline.
      'grpc.enable_retries': 0,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1_000,
    }) as unknown as CellServiceClient;
    this.clients.set(key, client);
    return client;
  }
}

export class CellAddressUnknownError extends Error {
  constructor(readonly cellId: string) {
    super(`no address configured for ${cellId}`);
    this.name = 'CellAddressUnknownError';
  }
}
