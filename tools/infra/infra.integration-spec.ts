import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRedis } from '@cellpay/connections';
import { pollUntil, readInfraEndpoints } from '@cellpay/testing';

import { infraIsUp, runInfra } from '../testing/infra-cli';

/**
 * The tooling is tested code too: a stopped service must show as down (and make a client fail),
 * and `up` must bring back exactly what is missing.
 */
describe('tools/infra lifecycle', () => {
  const infra = readInfraEndpoints();
  const scratch = mkdtempSync(join(tmpdir(), 'cellpay-infra-'));

  afterAll(() => {
    runInfra(['up']);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('reports a stopped Redis as down, a client fails, and up restarts only Redis', async () => {
    expect(infraIsUp()).toBe(true);
    const only = join(scratch, 'only-redis');
    writeFileSync(only, 'redis\n');
    runInfra(['down', '--only-file', only]);

    expect(infraIsUp()).toBe(false);
    const status = spawnSync('bash', [join(__dirname, 'infra.sh'), 'status'], { encoding: 'utf8' });
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/^redis\s+down/m);
    expect(status.stdout).toMatch(/^kafka\s+up/m);
  }, 60_000);

  it('a Redis client cannot reach the stopped server', async () => {
    const redis = createRedis(infra.redis, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    redis.on('error', () => undefined);
    await expect(redis.ping()).rejects.toThrow();
    redis.disconnect();
  });

  it('up starts exactly the missing service and records it', async () => {
    const started = join(scratch, 'started');
    writeFileSync(started, '');
    runInfra(['up', '--started-file', started]);
    expect(execFileSync('cat', [started], { encoding: 'utf8' })).toBe('redis\n');
    const redis = createRedis(infra.redis);
    await pollUntil(async () => (await redis.ping()) === 'PONG', { description: 'redis back' });
    redis.disconnect();
    expect(infraIsUp()).toBe(true);
  }, 60_000);
});
