import {
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { cellProtoPath } from '@cellpay/proto';

let cellPackage: GrpcObject | undefined;

/**
 * A client class of one of a cell's internal gRPC services, loaded from the same .proto and with
 * the same loader options as the cell's server (longs and enums as strings, defaults on).
 */
export function cellServiceConstructor(
  service: 'AccountService' | 'PaymentService' | 'AccountingService',
): ServiceClientConstructor {
  cellPackage ??= loadPackageDefinition(
    loadSync(cellProtoPath, {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    }),
  );
  return ['cellpay', 'cell', 'v1', service].reduce<unknown>(
    (node, key) => (node as GrpcObject)[key],
    cellPackage,
  ) as ServiceClientConstructor;
}
