import { credentials, Metadata } from '@grpc/grpc-js';

import { decodeErrorStatus } from '@cellpay/proto';
import { routingHeaders } from '@cellpay/routing';

import { cellServiceConstructor } from '../cell-grpc';

type Callback = (
  error: (Error & { code?: number; metadata?: Metadata }) | null,
  response: Record<string, unknown>,
) => void;
type Method = (
  request: object,
  metadata: Metadata,
  options: { deadline: Date },
  callback: Callback,
) => void;
type ServiceClient = Record<string, Method> & { close(): void };

/** A call's failure as the test reads it: gRPC code and the ErrorInfo reason. */
export class CellCallError extends Error {
  constructor(
    readonly grpcCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(`${reason || grpcCode}: ${message}`);
  }
}

/** The account and payment services of one cell, called the way the gateway calls them. */
export class CellClient {
  private readonly services: Record<'account' | 'payment', ServiceClient>;

  constructor(readonly address: string) {
    this.services = {
      account: new (cellServiceConstructor('AccountService'))(
        address,
        credentials.createInsecure(),
      ) as unknown as ServiceClient,
      payment: new (cellServiceConstructor('PaymentService'))(
        address,
        credentials.createInsecure(),
      ) as unknown as ServiceClient,
    };
  }

  call(
    service: 'account' | 'payment',
    method: string,
    request: object,
    routing?: { slot: number; epoch: bigint },
  ): Promise<Record<string, unknown>> {
    const metadata = new Metadata();
    if (routing !== undefined) {
      metadata.set(routingHeaders.slot, String(routing.slot));
      metadata.set(routingHeaders.epoch, routing.epoch.toString());
    }
    const handler = this.services[service][method];
    if (handler === undefined) throw new Error(`no method ${method}`);
    return new Promise((resolve, reject) => {
      handler.call(
        this.services[service],
        request,
        metadata,
        { deadline: new Date(Date.now() + 5_000) },
        (error, response) => {
          if (error === null) return resolve(response);
          const details = error.metadata?.get('grpc-status-details-bin')[0];
          const reason = Buffer.isBuffer(details) ? decodeErrorStatus(details).reason : '';
          reject(new CellCallError(error.code ?? -1, reason, error.message));
        },
      );
    });
  }

  close(): void {
    this.services.account.close();
    this.services.payment.close();
  }
}
