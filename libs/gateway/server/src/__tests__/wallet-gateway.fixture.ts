import { randomBytes } from 'node:crypto';

import {
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { Authenticator, type CellBreakers } from '@cellpay/gateway-edge';
import { publicProtoPath } from '@cellpay/proto';
import { evenlySpreadSnapshot, RoutingTable } from '@cellpay/routing';
import { protoJsonView, signatureHeaders, signRequest } from '@cellpay/signing';

import type { CellTransport } from '../cell-client';
import { GatewayService } from '../gateway.service';
import { createMemoryAuthenticatorPorts } from '../memory-authenticator-ports';
import { requiredScopes } from '../public-operations';

/** The one credential of these tests: a first-party wallet backend. */
const secret = randomBytes(32);
const keyId = 'key_wallets';

/** A gateway service with one cell behind `transport` and one wallet credential, all in memory. */
export function walletGatewayService(
  transport: CellTransport,
  breakers: CellBreakers,
  onCellOverloaded?: (cellId: string) => void,
): GatewayService {
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
  return new GatewayService({
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
    ...(onCellOverloaded === undefined ? {} : { onCellOverloaded }),
  });
}

/** Metadata signing `request` for `path` with the wallet credential, fresh timestamp and nonce. */
export function signedByWallet(path: string, request: object): Metadata {
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

/** The generated client constructor of cellpay.v1.Wallets. */
export function walletsClientConstructor(): ServiceClientConstructor {
  const root = loadPackageDefinition(loadSync(publicProtoPath, { keepCase: false, longs: String }));
  return ((root['cellpay'] as GrpcObject)['v1'] as GrpcObject)[
    'Wallets'
  ] as ServiceClientConstructor;
}
