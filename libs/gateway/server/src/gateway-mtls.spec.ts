import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { credentials, type ChannelCredentials, type Metadata, status } from '@grpc/grpc-js';

import { CellBreakers, cellBreakerDefaults } from '@cellpay/gateway-edge';
import { createLogger } from '@cellpay/observability';

import {
  signedByWallet,
  walletGatewayService,
  walletsClientConstructor,
} from './__tests__/wallet-gateway.fixture';
import type { CellCall, CellTransport } from './cell-client';
import { type GatewayServer, startGatewayServer } from './gateway-server';
import { isCellFailure } from './gateway.service';

/** A certificate authority, and a certificate it signed, made with openssl for this test only. */
class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'cellpay-mtls-'));

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }

  authority(name: string): void {
    this.openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${name}`,
      ].concat(['-keyout', `${name}.key`, '-out', `${name}.crt`]),
    );
  }

  /** A leaf certificate for `name`, signed by `authority`, valid for 127.0.0.1 and localhost. */
  leaf(name: string, authority: string): void {
    this.openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`].concat([
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
      ]),
    );
    writeFileSync(join(this.dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    this.openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', `${authority}.crt`]
        .concat(['-CAkey', `${authority}.key`, '-CAcreateserial', '-days', '1'])
        .concat(['-extfile', `${name}.ext`, '-out', `${name}.crt`]),
    );
  }

  read(file: string): Buffer {
    return readFileSync(join(this.dir, file));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class BalanceTransport implements CellTransport {
  call(_cellId: string, call: CellCall): Promise<Record<string, unknown>> {
    const { accountId } = call.request as { accountId: string };
    return Promise.resolve({ accountId, balanceMinor: '7' });
  }

  close(): void {
    // Nothing is held open.
  }
}

type WalletsClient = {
  getBalance(
    request: object,
    metadata: Metadata,
    options: { deadline: number },
    callback: (
      error: (Error & { code?: number }) | null,
      response?: { balanceMinor: string },
    ) => void,
  ): void;
  close(): void;
};

describe('the gateway with mutual TLS', () => {
  const pki = new TestPki();
  let server: GatewayServer;
  let breakers: CellBreakers;
  let Wallets: ReturnType<typeof walletsClientConstructor>;

  beforeAll(async () => {
    pki.authority('ca');
    pki.authority('rogue-ca');
    pki.leaf('gateway', 'ca');
    pki.leaf('merchant', 'ca');
    pki.leaf('intruder', 'rogue-ca');
    breakers = new CellBreakers({ ...cellBreakerDefaults, isCellFailure });
    server = await startGatewayServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('gateway-mtls-test', { level: 'silent' }),
      tls: {
        caPem: pki.read('ca.crt'),
        certificatePem: pki.read('gateway.crt'),
        privateKeyPem: pki.read('gateway.key'),
      },
      service: walletGatewayService(new BalanceTransport(), breakers),
    });
    Wallets = walletsClientConstructor();
  }, 60_000);

  afterAll(async () => {
    await server?.shutdown();
    breakers?.shutdown();
    pki.remove();
  });

  /** One signed GetBalance over the given channel: the balance, or the gRPC status code. */
  async function getBalance(channel: ChannelCredentials): Promise<string | number> {
    const client = new Wallets(`localhost:${server.port}`, channel) as unknown as WalletsClient;
    const request = { accountId: 'acc_0001ABCDEFGH' };
    const metadata = signedByWallet('/cellpay.v1.Wallets/GetBalance', request);
    try {
      return await new Promise<string | number>((resolve) =>
        client.getBalance(request, metadata, { deadline: Date.now() + 5_000 }, (error, response) =>
          resolve(error ? (error.code ?? -1) : (response?.balanceMinor ?? '')),
        ),
      );
    } finally {
      client.close();
    }
  }

  it('serves a client whose certificate the CA signed', async () => {
    const channel = credentials.createSsl(
      pki.read('ca.crt'),
      pki.read('merchant.key'),
      pki.read('merchant.crt'),
    );
    expect(await getBalance(channel)).toBe('7');
  });

  it('refuses a client without a certificate, one from another CA, and plaintext', async () => {
    expect(await getBalance(credentials.createSsl(pki.read('ca.crt')))).toBe(status.UNAVAILABLE);
    expect(
      await getBalance(
        credentials.createSsl(
          pki.read('ca.crt'),
          pki.read('intruder.key'),
          pki.read('intruder.crt'),
        ),
      ),
    ).toBe(status.UNAVAILABLE);
    expect(await getBalance(credentials.createInsecure())).toBe(status.UNAVAILABLE);
  });
});
