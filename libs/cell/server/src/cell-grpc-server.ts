import {
  type DynamicModule,
  type INestMicroservice,
  Module,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';

import type { CellPersistenceOptions } from '@cellpay/cell-data-access';
import type { Logger } from '@cellpay/observability';
import { CellModule } from '@cellpay/cell-runtime';
import { cellProtoPath, cellV1 } from '@cellpay/proto';

import {
  type AdmissionInterceptorOptions,
  AdmissionInterceptor,
  admissionDefaults,
} from './grpc/admission.interceptor';
import { CellErrorFilter, type ExtensionErrorMapper } from './grpc/cell-error.filter';
import { RequestContextInterceptor } from './grpc/request-context.interceptor';
import { SlotOwnershipGuard, type SlotOwnershipSource } from './grpc/slot-ownership.guard';

export const cellServiceNames = [
  `${cellV1.protobufPackage}.${cellV1.ACCOUNT_SERVICE_NAME}`,
  `${cellV1.protobufPackage}.${cellV1.PAYMENT_SERVICE_NAME}`,
  `${cellV1.protobufPackage}.${cellV1.ACCOUNTING_SERVICE_NAME}`,
];

/**
 * More services on the cell's server, from a part the cell scope must not import (settlement):
 * their Nest modules (controllers of services in the cell proto), the services' full names for
 * grpc.health.v1, and how their own refusals map to a status and reason.
 */
export interface CellGrpcExtension {
  readonly modules: readonly (Type | DynamicModule)[];
  readonly serviceNames: readonly string[];
  readonly errorMappers: readonly ExtensionErrorMapper[];
}

/**
 * The cell's gRPC server: the three services, grpc.health.v1 and server reflection on one port.
 * Every handler error passes through the one CellErrorFilter. With a routing source, the slot
 * ownership guard runs before every use case and refuses calls routed to the wrong cell. Every
 * call passes admission control (bounded calls in flight and waiting) before its handler runs.
 */
export interface CellGrpcServerOptions {
  readonly port: number;
  readonly logger: Logger;
  /** Interface to listen on; all interfaces unless given. */
  readonly host?: string;
  /** The routing table the slot-ownership guard checks each call against; no guard without it. */
  readonly routing?: SlotOwnershipSource;
  /** Run around every handler (metrics). */
  readonly interceptors?: readonly NestInterceptor[];
  /** Composed modules serving more services on the same port (the cell process: settlement). */
  readonly extensions?: readonly CellGrpcExtension[];
  /**
   * Admission control: the bounds of calls in flight and waiting (`admissionDefaults` unless
   * given), the stress-traffic switch the cell follows, and where its gauges go.
   */
  readonly admission?: Partial<AdmissionInterceptorOptions>;
}

/** The cell's modules plus the extensions' in one application. */
function rootModule(
  persistence: CellPersistenceOptions,
  extensions: readonly CellGrpcExtension[],
): DynamicModule {
  @Module({})
  class CellServerModule {}
  return {
    module: CellServerModule,
    imports: [
      CellModule.register(persistence),
      ...extensions.flatMap((extension) => extension.modules),
    ],
  };
}

export async function startCellGrpcServer(
  persistence: CellPersistenceOptions,
  options: CellGrpcServerOptions,
): Promise<INestMicroservice> {
  const { port, logger, host = '0.0.0.0', extensions = [] } = options;
  const serviceNames = [
    ...cellServiceNames,
    ...extensions.flatMap((extension) => extension.serviceNames),
  ];
  const health = new HealthImplementation(
    Object.fromEntries(['', ...serviceNames].map((name) => [name, 'SERVING'])),
  );
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    extensions.length === 0
      ? CellModule.register(persistence)
      : rootModule(persistence, extensions),
    {
      logger: false,
      transport: Transport.GRPC,
      options: {
        package: cellV1.protobufPackage,
        protoPath: cellProtoPath,
        url: `${host}:${port}`,
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
  app.useGlobalFilters(
    new CellErrorFilter(
      logger,
      extensions.flatMap((extension) => extension.errorMappers),
    ),
  );
  if (options.routing !== undefined) {
    app.useGlobalGuards(new SlotOwnershipGuard(persistence.settings.cellId, options.routing));
  }
  // Outermost the request context (the stress mark), then the caller's interceptors (metrics count
  // refusals too), innermost admission: a refused call never reaches its handler.
  const admission = new AdmissionInterceptor({
    settings: admissionDefaults,
    ...options.admission,
  });
  app.useGlobalInterceptors(
    new RequestContextInterceptor(logger),
    ...(options.interceptors ?? []),
    admission,
  );
  await app.listen();
  logger.info({ port, services: serviceNames }, 'cell gRPC server listening');
  return app;
}
