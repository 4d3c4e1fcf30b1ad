import 'reflect-metadata';

import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  type Metadata,
  type ServiceClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { createLogger, requestContextMetadata } from '@cellpay/observability';
import { publicProtoPath } from '@cellpay/proto';
import { CellpayClient } from '@cellpay/sdk';

import { type EmbeddedPlatform, startEmbeddedPlatform } from './embedded-platform';

type RawCall = (
  request: object,
  metadata: Metadata,
  callback: (error: ServiceError | null, response: Record<string, unknown>) => void,
) => void;
type RawClient = Record<string, RawCall> & { close(): void };

/**
 * Shadow traffic and the request ID across the real wire: a signed public call with the stress
 * mark and a request ID goes through the gateway to a cell over gRPC; the cell writes to its
 * shadow store only, and the gateway's and the cell's log lines carry the caller's request ID.
 */
describe('shadow traffic through the embedded platform', () => {
  const lines: Record<string, unknown>[] = [];
  let platform: EmbeddedPlatform;
  let signer: CellpayClient;
  let wallets: RawClient;

  beforeAll(async () => {
    platform = await startEmbeddedPlatform({
      cellCount: 2,
      slotCount: 100,
      gatewayPort: 0,
      host: '127.0.0.1',
      logger: createLogger('platform', {
        level: 'debug',
        destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
      }),
    });
    const credential = platform.addCredential(
      'stress-wallets',
      ['wallet', 'stress'],
      'first_party',
    );
    signer = new CellpayClient({
      address: platform.gatewayAddress,
      keyId: credential.keyId,
      secret: Buffer.from(credential.secretHex, 'hex'),
      retriesMax: 0,
    });
    const root = loadPackageDefinition(
      loadSync(publicProtoPath, { keepCase: false, longs: String, defaults: true }),
    );
    const constructor = ((root['cellpay'] as GrpcObject)['v1'] as GrpcObject)[
      'Wallets'
    ] as ServiceClientConstructor;
    wallets = new constructor(
      platform.gatewayAddress,
      credentials.createInsecure(),
    ) as unknown as RawClient;
  });
  afterAll(async () => {
    wallets.close();
    signer.close();
    await platform.close();
  });

  function wallet(
    method: string,
    request: object,
    context: { requestId: string; stress: boolean },
  ): Promise<Record<string, unknown>> {
    const path = `/cellpay.v1.Wallets/${method.charAt(0).toUpperCase()}${method.slice(1)}`;
    const metadata = signer.sign(path, request);
    metadata.set(requestContextMetadata.requestId, context.requestId);
    if (context.stress) metadata.set(requestContextMetadata.stress, '1');
    return new Promise((resolve, reject) => {
      const handler = wallets[method];
      if (handler === undefined) throw new Error(`no method ${method}`);
      handler.call(wallets, request, metadata, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }

  it('keeps stress money in the shadow store and follows the request ID from gateway to cell', async () => {
    const stress = (requestId: string) => ({ requestId, stress: true });
    const opened = await wallet(
      'openAccount',
      { userId: 'shadow-user-1', currency: 'CNY' },
      stress('req-e2e-open'),
    );
    const accountId = String(opened['accountId']);
    await wallet(
      'topUp',
      { requestId: 'shadow-top-up', accountId, amount: { amountMinor: '500', currency: 'CNY' } },
      stress('req-e2e-top-up'),
    );
    expect(await wallet('getBalance', { accountId }, stress('req-e2e-read'))).toMatchObject({
      balanceMinor: '500',
    });

    // Live traffic does not see the shadow wallet; the same user's live wallet is another one.
    const live = { requestId: 'req-e2e-live', stress: false };
    await expect(wallet('getBalance', { accountId }, live)).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    const liveWallet = await wallet(
      'openAccount',
      { userId: 'shadow-user-1', currency: 'CNY' },
      live,
    );
    expect(liveWallet['accountId']).not.toBe(accountId);
    expect(liveWallet).toMatchObject({ balanceMinor: '0' });

    const byRequest = (requestId: string) =>
      lines.filter((line) => line['requestId'] === requestId);
    expect(byRequest('req-e2e-top-up')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'gateway call', code: 0 }),
        expect.objectContaining({ msg: 'cell call', method: 'topUp', stress: true }),
      ]),
    );
    expect(byRequest('req-e2e-live')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'cell call', method: 'openAccount' }),
      ]),
    );
  });
});
