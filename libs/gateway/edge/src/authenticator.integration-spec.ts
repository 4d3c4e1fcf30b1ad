import { randomBytes } from 'node:crypto';

import type Redis from 'ioredis';
import type { Pool } from 'mysql2/promise';

import { applyMigrations, createMysqlPool, createRedis } from '@cellpay/connections';
import { NonceStore, RateLimiter } from '@cellpay/gateway-data-access';
import { CredentialStore, globalMigrations, SecretBox } from '@cellpay/global-data-access';
import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { payMethod, signedPayRequest } from './__tests__/signed-pay-request';
import { Authenticator, type Scope } from './authenticator';
import { createAuthenticatorPorts } from './authenticator-ports';
import { GatewayErrorCode } from './gateway.exception';

describe('Authenticator on the real global zone and Redis', () => {
  const infra = readInfraEndpoints();
  const database = uniqueName('gateway_auth');
  const prefix = uniqueName('gwauth');
  const method = payMethod;
  let admin: Pool;
  let pool: Pool;
  let redis: Redis;
  let credentials: CredentialStore;
  let authenticator: Authenticator;
  /** The `merchant_rate_caps` switch as this test sets it, and the refusals counted per owner. */
  const caps: Record<string, number> = {};
  const limited: string[] = [];

  beforeAll(async () => {
    admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${database}\``);
    pool = createMysqlPool({ ...infra.mysql, port: infra.global.port, database });
    await applyMigrations(pool, globalMigrations, database);
    redis = createRedis(infra.redis);
    credentials = new CredentialStore(pool, new SecretBox(randomBytes(32)));
    await credentials.registerMerchant('merchant-1', 'Merchant One');
    await credentials.registerMerchant('merchant-2', 'Merchant Two');
    authenticator = new Authenticator(
      createAuthenticatorPorts({
        credentials,
        nonces: new NonceStore(redis, `${prefix}:nonce`),
        rateLimiter: new RateLimiter(redis, `${prefix}:rl`),
        stressTrafficRejected: () => false,
        merchantRateCap: (merchantId) => caps[merchantId],
        rateLimited: (ownerId) => limited.push(ownerId),
        credentialTtlMs: 0,
      }),
      new Map<string, Scope>([[method, 'pay']]),
    );
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  const request = (keyId: string, secret: Buffer, nonce: string) =>
    signedPayRequest(keyId, secret, nonce);

  it('authenticates, refuses replays and over-rate calls, and forgets a revoked key', async () => {
    const { keyId, secret } = await credentials.createCredential({
      ownerId: 'merchant-1',
      ownerKind: 'merchant',
      scopes: ['pay'],
      ratePerSecond: 1,
      burst: 2,
    });
    const first = request(keyId, secret, 'nonce-000000000000000001');
    await expect(authenticator.authenticate(first)).resolves.toMatchObject({
      ownerId: 'merchant-1',
    });
    await expect(authenticator.authenticate(first)).rejects.toMatchObject({
      code: GatewayErrorCode.NonceReused,
    });
    await authenticator.authenticate(request(keyId, secret, 'nonce-000000000000000002'));
    await expect(
      authenticator.authenticate(request(keyId, secret, 'nonce-000000000000000003')),
    ).rejects.toMatchObject({ code: GatewayErrorCode.RateLimited });

    await credentials.revoke(keyId);
    await expect(
      authenticator.authenticate(request(keyId, secret, 'nonce-000000000000000004')),
    ).rejects.toMatchObject({ code: GatewayErrorCode.CredentialUnknown });
  });

  it('refuses a request signed with a guessed secret', async () => {
    const { keyId } = await credentials.createCredential({
      ownerId: 'merchant-1',
      ownerKind: 'merchant',
      scopes: ['pay'],
      ratePerSecond: 10,
      burst: 10,
    });
    await expect(
      authenticator.authenticate(request(keyId, randomBytes(32), 'nonce-000000000000000005')),
    ).rejects.toMatchObject({ code: GatewayErrorCode.SignatureMismatch });
  });

  it('caps a merchant across all its credentials when the switch names it, and counts refusals', async () => {
    const generous = {
      ownerKind: 'merchant' as const,
      scopes: ['pay' as const],
      ratePerSecond: 100,
      burst: 100,
    };
    const one = await credentials.createCredential({ ownerId: 'merchant-2', ...generous });
    const two = await credentials.createCredential({ ownerId: 'merchant-2', ...generous });
    const other = await credentials.createCredential({ ownerId: 'merchant-1', ...generous });
    caps['merchant-2'] = 2;
    limited.length = 0;

    await authenticator.authenticate(request(one.keyId, one.secret, 'nonce-cap-0000000000000001'));
    await authenticator.authenticate(request(two.keyId, two.secret, 'nonce-cap-0000000000000002'));
    // Both credentials have tokens to spare; the merchant's shared cap bucket is empty.
    await expect(
      authenticator.authenticate(request(one.keyId, one.secret, 'nonce-cap-0000000000000003')),
    ).rejects.toMatchObject({
      code: GatewayErrorCode.RateLimited,
      metadata: { limit: 'merchant_cap' },
    });
    // Another merchant is not touched by merchant-2's cap.
    await expect(
      authenticator.authenticate(request(other.keyId, other.secret, 'nonce-cap-0000000000000004')),
    ).resolves.toMatchObject({ ownerId: 'merchant-1' });
    expect(limited).toEqual(['merchant-2']);

    // Lifting the cap takes effect on the next request.
    delete caps['merchant-2'];
    await expect(
      authenticator.authenticate(request(two.keyId, two.secret, 'nonce-cap-0000000000000005')),
    ).resolves.toMatchObject({ ownerId: 'merchant-2' });
  });
});
