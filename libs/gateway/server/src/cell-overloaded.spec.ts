import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';

import { CellBreakers, cellBreakerDefaults } from '@cellpay/gateway-edge';
import { createLogger } from '@cellpay/observability';
import { cellOverloadedReason, decodeErrorStatus, encodeErrorStatus } from '@cellpay/proto';

import {
  signedByWallet,
  walletGatewayService,
  walletsClientConstructor,
} from './__tests__/wallet-gateway.fixture';
import type { CellCall, CellTransport } from './cell-client';
import { type GatewayServer, startGatewayServer } from './gateway-server';
import { isCellFailure } from './gateway.service';

/** A cell that answers every call with the same error, counting the calls that reached it. */
class RefusingTransport implements CellTransport {
  calls = 0;
  closed = false;

  constructor(private readonly error: () => ServiceError) {}

  call(_cellId: string, _call: CellCall): Promise<Record<string, unknown>> {
    this.calls += 1;
    return Promise.reject(this.error());
  }

  close(): void {
    this.closed = true;
  }
}

function cellError(code: status, reason?: string): ServiceError {
  const metadata = new Metadata();
  if (reason !== undefined) {
    metadata.set(
      'grpc-status-details-bin',
      encodeErrorStatus(code, 'refused', reason, { cause: 'queue_full', retryAfterMs: '250' }),
    );
  }
  return Object.assign(new Error('refused'), { code, details: 'refused', metadata });
}

interface BalanceClient {
  getBalance(
    request: object,
    metadata: Metadata,
    callback: (error: ServiceError | null) => void,
  ): void;
  close(): void;
}

describe('the gateway in front of an overloaded cell', () => {
  const callsMany = 30;
  let server: GatewayServer | undefined;
  let breakers: CellBreakers | undefined;
  let client: BalanceClient | undefined;

  afterEach(async () => {
    client?.close();
    await server?.shutdown();
    breakers?.shutdown();
  });

  async function run(transport: CellTransport, overloaded: string[]): Promise<ServiceError[]> {
    breakers = new CellBreakers({ ...cellBreakerDefaults, isCellFailure });
    server = await startGatewayServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('gateway-test', { level: 'silent' }),
      drainTimeoutMs: 1_000,
      service: walletGatewayService(transport, breakers, (cellId) => overloaded.push(cellId)),
    });
    const Wallets = walletsClientConstructor();
    client = new Wallets(
      `127.0.0.1:${server.port}`,
      credentials.createInsecure(),
    ) as unknown as BalanceClient;
    const errors: ServiceError[] = [];
    const request = { accountId: 'acc_0001ABCDEFGH' };
    for (let index = 0; index < callsMany; index++) {
      errors.push(
        await new Promise<ServiceError>((resolve, reject) =>
          client?.getBalance(
            request,
            signedByWallet('/cellpay.v1.Wallets/GetBalance', request),
            (error) => (error ? resolve(error) : reject(new Error('the call succeeded'))),
          ),
        ),
      );
    }
    return errors;
  }

  it('passes cell_overloaded on as retryable RESOURCE_EXHAUSTED, counts it, and keeps the breaker closed', async () => {
    const transport = new RefusingTransport(() =>
      cellError(status.RESOURCE_EXHAUSTED, cellOverloadedReason),
    );
    const overloaded: string[] = [];
    const errors = await run(transport, overloaded);

    expect(breakers?.state('cell-1')).toBe('closed');
    // Every call reached the cell (no fail-fast breaker) exactly once (no retry by the gateway).
    expect(transport.calls).toBe(callsMany);
    expect(overloaded).toEqual(Array.from({ length: callsMany }, () => 'cell-1'));
    for (const error of errors) {
      expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
      const details = error.metadata.get('grpc-status-details-bin')[0] as Buffer;
      expect(decodeErrorStatus(details)).toMatchObject({
        reason: cellOverloadedReason,
        metadata: { cause: 'queue_full', retryAfterMs: '250' },
      });
    }
  });

  it('still opens the breaker for a cell that does not answer (the same traffic, failing for real)', async () => {
    const transport = new RefusingTransport(() => cellError(status.UNAVAILABLE));
    const overloaded: string[] = [];
    const errors = await run(transport, overloaded);

    expect(breakers?.state('cell-1')).toBe('open');
    expect(overloaded).toEqual([]);
    expect(errors.at(-1)?.code).toBe(status.UNAVAILABLE);
    const details = errors.at(-1)?.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(decodeErrorStatus(details)).toMatchObject({
      reason: 'cell_unavailable',
      metadata: { cause: 'breaker_open' },
    });
  });
});
