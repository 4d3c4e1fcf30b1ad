import { randomBytes } from 'node:crypto';

import type Redis from 'ioredis';
import type { Pool } from 'mysql2/promise';

import { applyMigrations, createMysqlPool, createRedis } from '@cellpay/connections';
import { NonceStore, RateLimiter } from '@cellpay/gateway-data-access';
import {
  createSwitchFollower,
  CredentialStore,
  globalMigrations,
  publishSwitches,
  SecretBox,
  switchRedisKeys,
  SwitchStore,
  type SwitchValues,
  type VersionedFollower,
} from '@cellpay/global-data-access';
import { pollUntil, readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { payMethod, signedPayRequest } from './__tests__/signed-pay-request';
import { Authenticator, type Scope, stressHeader } from './authenticator';
import { createAuthenticatorPorts } from './authenticator-ports';
import { GatewayErrorCode } from './gateway.exception';

describe('the reject_stress_traffic switch at the gateway, followed through Redis', () => {
  const infra = readInfraEndpoints();
  const database = uniqueName('gateway_stress');
  const prefix = uniqueName('gwstress');
  const keys = switchRedisKeys(uniqueName('sw'));
  let admin: Pool;
  let pool: Pool;
  const clients: Redis[] = [];
  let follower: VersionedFollower<SwitchValues>;
  let switches: SwitchStore;
  let authenticator: Authenticator;
  let keyId = '';
  let secret: Buffer = Buffer.alloc(0);
  let nonceCount = 0;

  const redis = (): Redis => {
    const client = createRedis(infra.redis);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${database}\``);
    pool = createMysqlPool({ ...infra.mysql, port: infra.global.port, database });
    await applyMigrations(pool, globalMigrations, database);
    const credentials = new CredentialStore(pool, new SecretBox(randomBytes(32)));
    await credentials.registerMerchant('merchant-s', 'Merchant Stress');
    ({ keyId, secret } = await credentials.createCredential({
      ownerId: 'merchant-s',
      ownerKind: 'merchant',
      scopes: ['pay', 'stress'],
      ratePerSecond: 1_000,
      burst: 1_000,
    }));
    switches = new SwitchStore(pool);
    // The gateway's own follower settings (apps/gateway/src/main.ts): the defaults.
    follower = createSwitchFollower(switches, redis(), redis(), { keys });
    await follower.start();
    const shared = redis();
    authenticator = new Authenticator(
      createAuthenticatorPorts({
        credentials,
        nonces: new NonceStore(shared, `${prefix}:nonce`),
        rateLimiter: new RateLimiter(shared, `${prefix}:rl`),
        stressTrafficRejected: () => follower.current().value.stressTrafficRejected,
        credentialTtlMs: 0,
      }),
      new Map<string, Scope>([[payMethod, 'pay']]),
    );
  });

  afterAll(async () => {
    await follower.stop();
    const leftovers = await clients[0]?.keys(`${prefix}*`);
    if (leftovers !== undefined && leftovers.length > 0) await clients[0]?.del(...leftovers);
    await clients[0]?.del(keys.document, keys.version);
    for (const client of clients) client.disconnect();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  const request = (stress: boolean) => {
    nonceCount += 1;
    const nonce = `nonce-${String(nonceCount).padStart(18, '0')}`;
    return signedPayRequest(keyId, secret, nonce, stress ? { [stressHeader]: '1' } : {});
  };

  async function flip(value: boolean): Promise<void> {
    const document = await switches.set('stress_traffic_rejected', value, 'sre@example');
    await publishSwitches(clients[0] ?? redis(), keys, document);
  }

  it('refuses all stress traffic within a second of the flip, and lets it in again when unset', async () => {
    await expect(authenticator.authenticate(request(true))).resolves.toMatchObject({
      stress: true,
    });
    // Stress traffic took from its own rate bucket, under the shadow key segment.
    expect(await clients[0]?.exists(`${prefix}:rl:shadow:${keyId}`)).toBe(1);

    const flippedAt = Date.now();
    await flip(true);
    await pollUntil(
      async () => {
        try {
          await authenticator.authenticate(request(true));
          return false;
        } catch (error) {
          return (error as { code?: string }).code === GatewayErrorCode.StressTrafficRejected;
        }
      },
      { timeoutMs: 1_000, intervalMs: 10, description: 'stress traffic refused' },
    );
    expect(Date.now() - flippedAt).toBeLessThan(1_000);
    // Live traffic of the same credential is untouched by the switch.
    await expect(authenticator.authenticate(request(false))).resolves.toMatchObject({
      stress: false,
    });

    await flip(false);
    await pollUntil(() => !follower.current().value.stressTrafficRejected, {
      timeoutMs: 1_000,
      intervalMs: 10,
      description: 'the switch followed back',
    });
    await expect(authenticator.authenticate(request(true))).resolves.toMatchObject({
      stress: true,
    });
  });
});
