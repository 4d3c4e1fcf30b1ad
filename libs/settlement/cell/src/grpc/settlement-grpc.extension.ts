import { status } from '@grpc/grpc-js';
import { type DynamicModule, Module } from '@nestjs/common';

import type { CellGrpcExtension, ExtensionRefusal } from '@cellpay/cell-server';
import { PaymentModule } from '@cellpay/cell-payment';
import { cellV1 } from '@cellpay/proto';

import { SettlementCellModule, type SettlementCellOptions } from '../settlement-cell.module';
import { SettlementPaymentsService } from '../settlement-payments.service';
import { SettlementError, SettlementErrorCode } from '../settlement.exception';
import { QuerySettlementUseCase } from '../use-cases/query-settlement.use-case';
import { SettlementGrpcController } from './settlement.grpc-controller';

/** The one table from settlement's refusal codes to gRPC status codes. */
export const settlementGrpcStatusOf: Readonly<Record<SettlementErrorCode, status>> = {
  // The gateway's table and the cell's disagree about the payee's cell: nothing was applied, and
  // the same call succeeds once the gateway caught up (it refreshes and retries once).
  [SettlementErrorCode.PayeeInThisCell]: status.UNAVAILABLE,
  [SettlementErrorCode.PaymentNotCrossCell]: status.FAILED_PRECONDITION,
  [SettlementErrorCode.SagaNotFound]: status.NOT_FOUND,
  [SettlementErrorCode.RefundNotFound]: status.NOT_FOUND,
};

export function settlementRefusalOf(error: unknown): ExtensionRefusal | undefined {
  if (!(error instanceof SettlementError)) return undefined;
  return { code: settlementGrpcStatusOf[error.code], reason: error.code, message: error.message };
}

export const settlementServiceName = `${cellV1.protobufPackage}.${cellV1.SETTLEMENT_SERVICE_NAME}`;

/** Settlement's side of the cell API: the use cases, and the SettlementService serving them. */
@Module({})
export class SettlementGrpcModule {
  static register(options: SettlementCellOptions): DynamicModule {
    return {
      module: SettlementGrpcModule,
      imports: [SettlementCellModule.register(options), PaymentModule],
      controllers: [SettlementGrpcController],
      providers: [QuerySettlementUseCase, SettlementPaymentsService],
    };
  }
}

/**
 * What the cell's gRPC server composes to serve cross-cell pay, transfer and refund and the
 * settlement-aware queries: `startCellGrpcServer(persistence, { extensions: [here] })`.
 */
export function settlementGrpcExtension(options: SettlementCellOptions): CellGrpcExtension {
  return {
    modules: [SettlementGrpcModule.register(options)],
    serviceNames: [settlementServiceName],
    errorMappers: [settlementRefusalOf],
  };
}
