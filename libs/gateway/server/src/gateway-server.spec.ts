import { randomBytes } from 'node:crypto';

import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { Authenticator, CellBreakers, cellBreakerDefaults } from '@cellpay/gateway-edge';
import { createLogger } from '@cellpay/observability';
import { publicProtoPath } from '@cellpay/proto';
import { evenlySpreadSnapshot, RoutingTable } from '@cellpay/routing';
import { protoJsonView, signatureHeaders, signRequest } from '@cellpay/signing';
import { pollUntil } from '@cellpay/testing';

import type { CellCall, CellTransport } from './cell-client';
import { startGatewayServer } from './gateway-server';
import { GatewayService, isCellFailure } from './gateway.service';
import { createMemoryAuthenticatorPorts } from './memory-authenticator-ports';
import { requiredScopes } from './public-operations';

const secret = randomBytes(32);
const keyId = 'key_wallets';

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

function signed(path: string, request: object): Metadata {
  const metadata = new Metadata();
  const timestampMs = Date.now();
  const nonce = randomBytes(16).toString('base64url');
  metadata.set(signatureHeaders.keyId, keyId);
  metadata.set(signatureHeaders.timestamp, String(timestampMs));
  metadata.set(signatureHeaders.nonce, nonce);
  metadata.set(
    signatureHeaders.signature,
    signRequest(secret, { method: path, keyId, timestampMs, nonce, body: protoJsonView(request) }),
  );
  return metadata;
}

describe('the gateway server', () => {
  it('drains a call in flight on shutdown, then refuses new connections', async () => {
    const transport = new HeldTransport();
    const cells = [
      {
        cellId: 'cell-1',
        homeRegion: 'r',
        standbyRegion: 'r',
        activeRegion: 'r',
        state: 'active' as const,
      },
    ];
    const table = new RoutingTable(evenlySpreadSnapshot(cells, 100));
    const breakers = new CellBreakers({ ...cellBreakerDefaults, isCellFailure });
    const server = await startGatewayServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('gateway-test', { level: 'silent' }),
      drainTimeoutMs: 5_000,
      service: new GatewayService({
        authenticator: new Authenticator(
          createMemoryAuthenticatorPorts({
            credentials: [
              {
                keyId,
                ownerId: 'wallet-app',
                ownerKind: 'first_party',
                scopes: new Set(['wallet']),
                ratePerSecond: 100,
                burst: 100,
                secret,
              },
            ],
          }),
          requiredScopes,
        ),
        routing: { current: () => table },
        transport,
        breakers,
      }),
    });
    const root = loadPackageDefinition(
      loadSync(publicProtoPath, { keepCase: false, longs: String }),
    );
    const Wallets = ((root['cellpay'] as GrpcObject)['v1'] as GrpcObject)[
      'Wallets'
    ] as ServiceClientConstructor;
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
          signed('/cellpay.v1.Wallets/GetBalance', request),
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
        client.getBalance(request, signed('/cellpay.v1.Wallets/GetBalance', request), (error) =>
          resolve(error),
        ),
      );
      await expect(late).resolves.toMatchObject({ code: 14 });
    } finally {
      client.close();
      breakers.shutdown();
    }
  });
});
