import { randomBytes } from 'node:crypto';

import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

import type { SecretBox } from './secret-box';

export const credentialScopes = ['pay', 'refund', 'read', 'wallet', 'stress'] as const;
export type CredentialScope = (typeof credentialScopes)[number];
export type CredentialOwnerKind = 'merchant' | 'first_party';

export interface Credential {
  readonly keyId: string;
  readonly ownerId: string;
  readonly ownerKind: CredentialOwnerKind;
  readonly scopes: ReadonlySet<CredentialScope>;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly secret: Buffer;
}

export interface NewCredential {
  readonly ownerId: string;
  readonly ownerKind: CredentialOwnerKind;
  readonly scopes: readonly CredentialScope[];
  readonly ratePerSecond: number;
  readonly burst: number;
}

const idPattern = /^[A-Za-z0-9_.-]{1,64}$/;
const secretBytes = 32;

/**
 * Merchants and the API credentials that sign their requests. The secret is generated here, shown
 * to the caller once, and stored only sealed; lookups return active credentials only.
 */
export class CredentialStore {
  constructor(
    private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  async registerMerchant(merchantId: string, displayName: string): Promise<void> {
    if (!idPattern.test(merchantId)) throw new RangeError(`merchant ID ${merchantId} is malformed`);
    await this.pool.query(
      `INSERT INTO merchants (merchant_id, display_name, status) VALUES (?, ?, 'active')
       ON DUPLICATE KEY UPDATE display_name = VALUES(display_name)`,
      [merchantId, displayName],
    );
  }

  /** Creates a credential and returns its secret; the only time the secret leaves the store. */
  async createCredential(request: NewCredential): Promise<{ keyId: string; secret: Buffer }> {
    if (!idPattern.test(request.ownerId)) throw new RangeError('owner ID is malformed');
    if (request.scopes.length === 0) throw new RangeError('a credential needs at least one scope');
    for (const scope of request.scopes) {
      if (!credentialScopes.includes(scope)) throw new RangeError(`unknown scope ${String(scope)}`);
    }
    if (!Number.isInteger(request.ratePerSecond) || request.ratePerSecond < 1) {
      throw new RangeError('ratePerSecond must be a positive integer');
    }
    if (!Number.isInteger(request.burst) || request.burst < 1) {
      throw new RangeError('burst must be a positive integer');
    }
    const keyId = `key_${randomBytes(12).toString('hex')}`;
    const secret = randomBytes(secretBytes);
    await this.pool.query(
      `INSERT INTO credentials
         (key_id, owner_id, owner_kind, secret_ciphertext, scopes, rate_per_second, burst, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'active')`,
      [
        keyId,
        request.ownerId,
        request.ownerKind,
        this.box.seal(secret, keyId),
        [...new Set(request.scopes)].sort().join(','),
        request.ratePerSecond,
        request.burst,
      ],
    );
    return { keyId, secret };
  }

  async findActive(keyId: string): Promise<Credential | undefined> {
    if (!idPattern.test(keyId)) return undefined;
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT c.key_id, c.owner_id, c.owner_kind, c.secret_ciphertext, c.scopes, c.rate_per_second,
              c.burst
         FROM credentials c
         LEFT JOIN merchants m ON m.merchant_id = c.owner_id
        WHERE c.key_id = ? AND c.status = 'active'
          AND (c.owner_kind = 'first_party' OR m.status = 'active')`,
      [keyId],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      keyId: String(row['key_id']),
      ownerId: String(row['owner_id']),
      ownerKind: String(row['owner_kind']) as CredentialOwnerKind,
      scopes: new Set(String(row['scopes']).split(',') as CredentialScope[]),
      ratePerSecond: Number(row['rate_per_second']),
      burst: Number(row['burst']),
      secret: this.box.open(row['secret_ciphertext'] as Buffer, String(row['key_id'])),
    };
  }

  async revoke(keyId: string): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>(
      "UPDATE credentials SET status = 'revoked', revoked_at = CURRENT_TIMESTAMP(6) WHERE key_id = ? AND status = 'active'",
      [keyId],
    );
    return result.affectedRows === 1;
  }
}
