import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRedis } from '@cellpay/connections';
import { pollUntil } from '@cellpay/testing';

/**
 * The tooling is tested code too: a stopped service must show as down (and make a client fail),
 * and `up` must bring back exactly what is missing. It runs on a Redis-only installation of its
 * own (own state dir and port), so stopping a service never disturbs the services other suites
 * share.
 */
describe('tools/infra lifecycle', () => {
  const script = join(__dirname, 'infra.sh');
  const state = mkdtempSync(join(tmpdir(), 'cellpay-infra-'));
  // A port of its own, away from the shared Redis (6390) and from other runs of this test.
  const port = 20_000 + (process.pid % 20_000);
  const env = {
    ...process.env,
    CELLPAY_INFRA_DIR: state,
    CELLPAY_INFRA_SERVICES: 'redis',
    CELLPAY_CELLS: '1',
    CELLPAY_REDIS_PORT: String(port),
  };
  const infra = (...args: string[]) =>
    execFileSync('bash', [script, ...args], { env, stdio: 'pipe' });
  const status = () => spawnSync('bash', [script, 'status'], { env, encoding: 'utf8' });

  beforeAll(() => {
    infra('up');
  }, 60_000);

  afterAll(() => {
    spawnSync('bash', [script, 'down'], { env });
    rmSync(state, { recursive: true, force: true });
  });

  it('reports a stopped Redis as down, and a client cannot reach it', async () => {
    expect(status()).toMatchObject({
      status: 0,
      stdout: `redis              up    127.0.0.1:${port}\n`,
    });
    writeFileSync(join(state, 'only-redis'), 'redis\n');
    infra('down', '--only-file', join(state, 'only-redis'));

    const after = status();
    expect(after.status).toBe(1);
    expect(after.stdout).toMatch(/^redis\s+down/m);

    const redis = createRedis(
      { host: '127.0.0.1', port },
      { maxRetriesPerRequest: 0, enableOfflineQueue: false },
    );
    redis.on('error', () => undefined);
    await expect(redis.ping()).rejects.toThrow();
    redis.disconnect();
  }, 60_000);

  it('up starts exactly the missing service, records it, and is idempotent', async () => {
    const started = join(state, 'started');
    writeFileSync(started, '');
    infra('up', '--started-file', started);
    expect(readFileSync(started, 'utf8')).toBe('redis\n');
    const redis = createRedis({ host: '127.0.0.1', port });
    await pollUntil(async () => (await redis.ping()) === 'PONG', { description: 'redis back' });
    redis.disconnect();

    writeFileSync(started, '');
    infra('up', '--started-file', started);
    expect(readFileSync(started, 'utf8')).toBe('');
    expect(status().status).toBe(0);
  }, 60_000);
});
