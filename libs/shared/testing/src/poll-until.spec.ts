import { pollUntil } from './poll-until';

describe('pollUntil', () => {
  it('returns the first defined value the probe yields', async () => {
    let calls = 0;
    const value = await pollUntil(() => (++calls >= 3 ? 'ready' : undefined), { intervalMs: 1 });
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('times out naming what it waited for and the last error', async () => {
    await expect(
      pollUntil(
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 30, intervalMs: 5, description: 'redis ping' },
      ),
    ).rejects.toThrow(/redis ping not met within 30 ms: last error: connection refused/);
  });
});
