import { createMemoryAuthenticatorPorts } from './memory-authenticator-ports';

describe('in-memory authenticator ports', () => {
  let nowMs = 1_000_000;
  const ports = createMemoryAuthenticatorPorts({
    credentials: [],
    nowMs: () => nowMs,
    noncesMax: 2,
  });

  it('claims a nonce once per key, fails closed when full, forgets only stale nonces', async () => {
    await expect(ports.claimNonce('key_a', 'nonce-aaaaaaaaaaaaaaaa')).resolves.toBe(true);
    await expect(ports.claimNonce('key_a', 'nonce-aaaaaaaaaaaaaaaa')).resolves.toBe(false);
    await expect(ports.claimNonce('key_b', 'nonce-aaaaaaaaaaaaaaaa')).resolves.toBe(true);
    await expect(ports.claimNonce('key_b', 'nonce-bbbbbbbbbbbbbbbb')).resolves.toBe(false);
    nowMs += 10 * 60 * 1000 + 1;
    await expect(ports.claimNonce('key_a', 'nonce-aaaaaaaaaaaaaaaa')).resolves.toBe(true);
  });

  it('takes tokens up to the burst, then refuses with the wait until the next one', async () => {
    const taken = [];
    for (let index = 0; index < 3; index++) taken.push(await ports.takeToken('key_c', 10, 2));
    expect(taken.map((decision) => decision.allowed)).toEqual([true, true, false]);
    expect(taken[2]?.retryAfterMs).toBe(100);
    nowMs += 100;
    await expect(ports.takeToken('key_c', 10, 2)).resolves.toMatchObject({ allowed: true });
  });
});
