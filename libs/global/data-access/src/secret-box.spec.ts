import { randomBytes } from 'node:crypto';

import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));
  const secret = Buffer.from('merchant-signing-secret');

  it('opens what it sealed, and never stores the secret in clear', () => {
    const sealed = box.seal(secret, 'key_1');
    expect(sealed.includes(secret)).toBe(false);
    expect(box.open(sealed, 'key_1').equals(secret)).toBe(true);
  });

  it('refuses a ciphertext moved to another key ID, tampered, or opened with another key', () => {
    const sealed = box.seal(secret, 'key_1');
    expect(() => box.open(sealed, 'key_2')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(() => box.open(tampered, 'key_1')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'key_1')).toThrow();
  });

  it('refuses a key of the wrong size', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/must be 32 bytes/);
  });
});
