import { type AddressInfo, createServer } from 'node:net';

import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { cellProtoPath } from '@cellpay/proto';

type Callback = (error: GrpcError | null, response: Record<string, unknown>) => void;
export type Call = ((request: object, callback: Callback) => void) &
  ((request: object, metadata: Metadata, callback: Callback) => void);
export interface GrpcError {
  readonly code: number;
  readonly metadata: Metadata;
}
export type Client = Record<string, Call> & { close(): void };

/** A port the OS just handed out, so parallel runs on this shared machine do not collide. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export const loaderOptions = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export function clientOf(root: GrpcObject, path: string, address: string): Client {
  const constructor = path
    .split('.')
    .reduce<unknown>((node, key) => (node as GrpcObject)[key], root);
  return new (constructor as ServiceClientConstructor)(
    address,
    credentials.createInsecure(),
  ) as unknown as Client;
}

export function call(
  client: Client,
  method: string,
  request: object,
  headers: Readonly<Record<string, string>> = {},
): Promise<Record<string, unknown>> {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return new Promise((resolve, reject) => {
    const handler = client[method];
    if (handler === undefined) throw new Error(`no method ${method}`);
    handler.call(client, request, metadata, (error: GrpcError | null, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** Clients of the three cell services at `address`. */
export function cellClients(address: string): {
  accounts: Client;
  payments: Client;
  accounting: Client;
} {
  const root = loadPackageDefinition(loadSync(cellProtoPath, loaderOptions));
  return {
    accounts: clientOf(root, 'cellpay.cell.v1.AccountService', address),
    payments: clientOf(root, 'cellpay.cell.v1.PaymentService', address),
    accounting: clientOf(root, 'cellpay.cell.v1.AccountingService', address),
  };
}
