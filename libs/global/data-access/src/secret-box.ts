import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ivLength = 12;
const tagLength = 16;
const keyLength = 32;

/**
 * Credential secrets are stored encrypted (AES-256-GCM) under a key-encryption key that lives
 * outside the database, so a copy of the global schema alone does not let anyone sign requests.
 * The key ID is bound as associated data: a ciphertext moved to another credential fails to open.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== keyLength) {
      throw new RangeError(`the key-encryption key must be ${keyLength} bytes, got ${key.length}`);
    }
    this.key = Buffer.from(key);
  }

  static fromBase64(encoded: string): SecretBox {
    return new SecretBox(Buffer.from(encoded, 'base64'));
  }

  seal(secret: Buffer, keyId: string): Buffer {
    const iv = randomBytes(ivLength);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: tagLength });
    cipher.setAAD(Buffer.from(keyId, 'utf8'));
    const body = Buffer.concat([cipher.update(secret), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, keyId: string): Buffer {
    if (sealed.length < ivLength + tagLength) throw new RangeError('sealed secret is too short');
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, ivLength), {
      authTagLength: tagLength,
    });
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(sealed.subarray(ivLength, ivLength + tagLength));
    return Buffer.concat([
      decipher.update(sealed.subarray(ivLength + tagLength)),
      decipher.final(),
    ]);
  }
}
