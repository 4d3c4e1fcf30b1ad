import { randomBytes } from 'node:crypto';

import type { Pool, RowDataPacket } from 'mysql2/promise';

import { applyMigrations, createMysqlPool } from '@cellpay/connections';
import { readInfraEndpoints, uniqueName } from '@cellpay/testing';

import { CredentialStore } from './credential-store';
import { globalMigrations } from './global-schema';
import { SecretBox } from './secret-box';

describe('CredentialStore against real MariaDB', () => {
  const infra = readInfraEndpoints();
  const database = uniqueName('credentials');
  let admin: Pool;
  let pool: Pool;
  let store: CredentialStore;

  beforeAll(async () => {
    admin = createMysqlPool({ ...infra.mysql, port: infra.global.port });
    await admin.query(`CREATE DATABASE \`${database}\``);
    pool = createMysqlPool({ ...infra.mysql, port: infra.global.port, database });
    await applyMigrations(pool, globalMigrations, database);
    store = new CredentialStore(pool, new SecretBox(randomBytes(32)));
    await store.registerMerchant('merchant-1', 'Merchant One');
  });

  afterAll(async () => {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  });

  it('creates a scoped credential whose secret is stored sealed and found again', async () => {
    const { keyId, secret } = await store.createCredential({
      ownerId: 'merchant-1',
      ownerKind: 'merchant',
      scopes: ['pay', 'read', 'pay'],
      ratePerSecond: 100,
      burst: 200,
    });
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT secret_ciphertext, scopes FROM credentials WHERE key_id = ?',
      [keyId],
    );
    expect((rows[0]?.['secret_ciphertext'] as Buffer).includes(secret)).toBe(false);
    expect(rows[0]?.['scopes']).toBe('pay,read');

    const found = await store.findActive(keyId);
    expect(found?.secret.equals(secret)).toBe(true);
    expect([...(found?.scopes ?? [])]).toEqual(['pay', 'read']);
    expect(found).toMatchObject({ ownerId: 'merchant-1', ratePerSecond: 100, burst: 200 });
  });

  it('finds nothing for unknown, malformed, revoked or suspended-merchant keys', async () => {
    const { keyId } = await store.createCredential({
      ownerId: 'merchant-1',
      ownerKind: 'merchant',
      scopes: ['refund'],
      ratePerSecond: 1,
      burst: 1,
    });
    expect(await store.findActive('key_unknown')).toBeUndefined();
    expect(await store.findActive("key'; DROP TABLE credentials; --")).toBeUndefined();
    expect(await store.revoke(keyId)).toBe(true);
    expect(await store.revoke(keyId)).toBe(false);
    expect(await store.findActive(keyId)).toBeUndefined();

    const other = await store.createCredential({
      ownerId: 'merchant-1',
      ownerKind: 'merchant',
      scopes: ['pay'],
      ratePerSecond: 1,
      burst: 1,
    });
    await pool.query("UPDATE merchants SET status = 'suspended' WHERE merchant_id = 'merchant-1'");
    expect(await store.findActive(other.keyId)).toBeUndefined();
    await pool.query("UPDATE merchants SET status = 'active' WHERE merchant_id = 'merchant-1'");
  });

  it('refuses credentials without scopes, with unknown scopes or without a rate', async () => {
    const base = {
      ownerId: 'merchant-1',
      ownerKind: 'merchant' as const,
      ratePerSecond: 1,
      burst: 1,
    };
    await expect(store.createCredential({ ...base, scopes: [] })).rejects.toThrow(
      /at least one scope/,
    );
    await expect(store.createCredential({ ...base, scopes: ['admin' as never] })).rejects.toThrow(
      /unknown scope admin/,
    );
    await expect(
      store.createCredential({ ...base, scopes: ['pay'], ratePerSecond: 0 }),
    ).rejects.toThrow(/ratePerSecond/);
  });
});
