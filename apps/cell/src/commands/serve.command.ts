import { type INestMicroservice, type NestInterceptor } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';

import type { CellPersistenceOptions } from '@cellpay/cell-data-access';
import type { Logger } from '@cellpay/observability';
import { cellProtoPath, cellV1 } from '@cellpay/proto';

import { CellModule } from '@cellpay/cell-runtime';
import { CellErrorFilter } from '../grpc/cell-error.filter';

export const cellServiceNames = [
  `${cellV1.protobufPackage}.${cellV1.ACCOUNT_SERVICE_NAME}`,
  `${cellV1.protobufPackage}.${cellV1.PAYMENT_SERVICE_NAME}`,
  `${cellV1.protobufPackage}.${cellV1.ACCOUNTING_SERVICE_NAME}`,
];

/**
 * The cell's gRPC server: the three services, grpc.health.v1 and server reflection on one port.
 * Every handler error passes through the one CellErrorFilter. Later issues add a slot-ownership
 * guard in front of the handlers (a NestJS global guard runs before every use case).
 */
export async function startCellGrpcServer(
  persistence: CellPersistenceOptions,
  port: number,
  logger: Logger,
  interceptors: readonly NestInterceptor[] = [],
): Promise<INestMicroservice> {
  const health = new HealthImplementation(
    Object.fromEntries(['', ...cellServiceNames].map((name) => [name, 'SERVING'])),
  );
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    CellModule.register(persistence),
    {
      logger: false,
      transport: Transport.GRPC,
      options: {
        package: cellV1.protobufPackage,
        protoPath: cellProtoPath,
        url: `0.0.0.0:${port}`,
        loader: { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true },
        onLoadPackageDefinition: (
          definition: ConstructorParameters<typeof ReflectionService>[0],
          server: Server,
        ) => {
          new ReflectionService(definition).addToServer(server);
          health.addToServer(server);
        },
      },
    },
  );
  app.useGlobalFilters(new CellErrorFilter(logger));
  app.useGlobalInterceptors(...interceptors);
  await app.listen();
  logger.info({ port, services: cellServiceNames }, 'cell gRPC server listening');
  return app;
}
