import { randomBytes } from 'node:crypto';

import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { Authenticator, CellBreakers, cellBreakerDefaults } from '@cellpay/gateway-edge';
import { createLogger, requestContextMetadata } from '@cellpay/observability';
import { publicProtoPath } from '@cellpay/proto';
import { evenlySpreadSnapshot, RoutingTable } from '@cellpay/routing';
import { protoJsonView, signatureHeaders, signRequest } from '@cellpay/signing';

import type { CellCall, CellTransport } from './cell-client';
import { type GatewayServer, startGatewayServer } from './gateway-server';
import { GatewayService, isCellFailure } from './gateway.service';
import { createMemoryAuthenticatorPorts } from './memory-authenticator-ports';
import { requiredScopes } from './public-operations';

const secret = randomBytes(32);
const path = '/cellpay.v1.Wallets/GetBalance';
const request = { accountId: 'acc_0001ABCDEFGH' };

/** Records what the gateway forwards and answers at once. */
class RecordingTransport implements CellTransport {
  readonly calls: CellCall[] = [];

  async call(_cellId: string, call: CellCall): Promise<Record<string, unknown>> {
    this.calls.push(call);
    return { accountId: request.accountId, balanceMinor: '7' };
  }

  close(): void {
    this.calls.splice(0);
  }
}

interface WalletsClient {
  getBalance(
    request: object,
    metadata: Metadata,
    callback: (error: ServiceError | null, response: { balanceMinor: string }) => void,
  ): { on(event: 'metadata', listener: (metadata: Metadata) => void): void };
  close(): void;
}

function signed(keyId: string, extra: Record<string, string> = {}): Metadata {
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
  for (const [key, value] of Object.entries(extra)) metadata.set(key, value);
  return metadata;
}

describe('the request context at the gateway', () => {
  const transport = new RecordingTransport();
  const lines: Record<string, unknown>[] = [];
  let stressRejected = false;
  let server: GatewayServer;
  let client: WalletsClient;
  let breakers: CellBreakers;

  beforeAll(async () => {
    const cells = [
      { cellId: 'cell-1', homeRegion: 'r', standbyRegion: 'r', activeRegion: 'r' },
    ].map((cell) => ({ ...cell, state: 'active' as const }));
    const table = new RoutingTable(evenlySpreadSnapshot(cells, 100));
    breakers = new CellBreakers({ ...cellBreakerDefaults, isCellFailure });
    const credential = (keyId: string, scopes: string[]) => ({
      keyId,
      ownerId: 'wallet-app',
      ownerKind: 'first_party' as const,
      scopes: new Set(scopes) as ReadonlySet<'wallet' | 'stress'>,
      ratePerSecond: 100,
      burst: 100,
      secret,
    });
    const ports = {
      ...createMemoryAuthenticatorPorts({
        credentials: [
          credential('key_live', ['wallet']),
          credential('key_stress', ['wallet', 'stress']),
        ],
      }),
      stressTrafficRejected: () => stressRejected,
    };
    server = await startGatewayServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('gateway', {
        level: 'debug',
        destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
      }),
      service: new GatewayService({
        authenticator: new Authenticator(ports, requiredScopes),
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
    client = new Wallets(
      `127.0.0.1:${server.port}`,
      credentials.createInsecure(),
    ) as unknown as WalletsClient;
  });
  afterAll(async () => {
    client.close();
    breakers.shutdown();
    await server.shutdown();
  });

  function getBalance(
    metadata: Metadata,
  ): Promise<{ error: ServiceError | null; requestId?: string }> {
    return new Promise((resolve) => {
      let requestId: string | undefined;
      const call = client.getBalance(request, metadata, (error) => resolve({ error, requestId }));
      call.on('metadata', (received) => {
        const value = received.get(requestContextMetadata.requestId)[0];
        if (value !== undefined) requestId = String(value);
      });
    });
  }

  it('forwards the caller request ID and the stress mark to the cell, and answers with the ID', async () => {
    transport.calls.splice(0);
    lines.length = 0;
    const live = await getBalance(
      signed('key_live', { [requestContextMetadata.requestId]: 'req-caller-1' }),
    );
    const stress = await getBalance(
      signed('key_stress', {
        [requestContextMetadata.requestId]: 'req-caller-2',
        [requestContextMetadata.stress]: '1',
      }),
    );
    expect([live.error, stress.error]).toEqual([null, null]);
    expect([live.requestId, stress.requestId]).toEqual(['req-caller-1', 'req-caller-2']);
    expect(transport.calls.map((call) => call.metadata)).toEqual([
      expect.objectContaining({
        [requestContextMetadata.requestId]: 'req-caller-1',
        [requestContextMetadata.stress]: '0',
      }),
      expect.objectContaining({
        [requestContextMetadata.requestId]: 'req-caller-2',
        [requestContextMetadata.stress]: '1',
      }),
    ]);
    expect(lines.filter((line) => line['msg'] === 'gateway call')).toEqual([
      expect.objectContaining({ requestId: 'req-caller-1' }),
      // The server's own line is written before authentication decided on the mark: ID only.
      expect.objectContaining({ requestId: 'req-caller-2' }),
    ]);
  });

  it('creates a request ID for a call without one', async () => {
    transport.calls.splice(0);
    const answer = await getBalance(signed('key_live'));
    expect(answer.requestId).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(transport.calls[0]?.metadata[requestContextMetadata.requestId]).toBe(answer.requestId);
  });

  it('refuses a malformed request ID before authenticating, and forwards nothing', async () => {
    transport.calls.splice(0);
    for (const bad of ['has spaces', 'x'.repeat(129), 'semi;colon']) {
      const answer = await getBalance(
        signed('key_live', { [requestContextMetadata.requestId]: bad }),
      );
      expect(answer.error?.code).toBe(status.INVALID_ARGUMENT);
    }
    expect(transport.calls).toHaveLength(0);
  });

  it('refuses stress traffic while the switch says so, and takes it again when it is off', async () => {
    transport.calls.splice(0);
    stressRejected = true;
    const mark = { [requestContextMetadata.stress]: '1' };
    expect((await getBalance(signed('key_stress', mark))).error?.code).toBe(status.UNAVAILABLE);
    // Live traffic of the same credential is not affected by the switch.
    expect((await getBalance(signed('key_stress'))).error).toBeNull();
    stressRejected = false;
    expect((await getBalance(signed('key_stress', mark))).error).toBeNull();
    expect(transport.calls.map((call) => call.metadata[requestContextMetadata.stress])).toEqual([
      '0',
      '1',
    ]);
  });
});
