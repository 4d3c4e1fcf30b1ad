import { credentials, type Metadata } from '@grpc/grpc-js';

import { CellBreakers, cellBreakerDefaults } from '@cellpay/gateway-edge';
import { createLogger } from '@cellpay/observability';
import { pollUntil } from '@cellpay/testing';

import {
  signedByWallet,
  walletGatewayService,
  walletsClientConstructor,
} from './__tests__/wallet-gateway.fixture';
import type { CellCall, CellTransport } from './cell-client';
import { startGatewayServer } from './gateway-server';
import { isCellFailure } from './gateway.service';

/** A transport whose calls wait until the test releases them, to hold a call in flight. */
class HeldTransport implements CellTransport {
  readonly held: (() => void)[] = [];

  call(_cellId: string, call: CellCall): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.held.push(() =>
        resolve({
          accountId: (call.request as { accountId: string }).accountId,
          balanceMinor: '7',
        }),
      );
    });
  }

  close(): void {
    this.held.splice(0);
  }
}

describe('the gateway server', () => {
  it('drains a call in flight on shutdown, then refuses new connections', async () => {
    const transport = new HeldTransport();
    const breakers = new CellBreakers({ ...cellBreakerDefaults, isCellFailure });
    const server = await startGatewayServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('gateway-test', { level: 'silent' }),
      drainTimeoutMs: 5_000,
      service: walletGatewayService(transport, breakers),
    });
    const Wallets = walletsClientConstructor();
    const client = new Wallets(
      `127.0.0.1:${server.port}`,
      credentials.createInsecure(),
    ) as unknown as {
      getBalance(
        request: object,
        metadata: Metadata,
        callback: (error: Error | null, response: { balanceMinor: string }) => void,
      ): void;
      close(): void;
    };
    const request = { accountId: 'acc_0001ABCDEFGH' };
    try {
      const inFlight = new Promise<{ balanceMinor: string }>((resolve, reject) =>
        client.getBalance(
          request,
          signedByWallet('/cellpay.v1.Wallets/GetBalance', request),
          (error, response) => (error ? reject(error) : resolve(response)),
        ),
      );
      await pollUntil(() => transport.held.length > 0, {
        description: 'the call reached the cell',
      });
      const stopped = server.shutdown();
      transport.held[0]?.();
      await expect(inFlight).resolves.toMatchObject({ balanceMinor: '7' });
      await stopped;
      const late = new Promise<unknown>((resolve) =>
        client.getBalance(
          request,
          signedByWallet('/cellpay.v1.Wallets/GetBalance', request),
          (error) => resolve(error),
        ),
      );
      await expect(late).resolves.toMatchObject({ code: 14 });
    } finally {
      client.close();
      breakers.shutdown();
    }
  });
});
