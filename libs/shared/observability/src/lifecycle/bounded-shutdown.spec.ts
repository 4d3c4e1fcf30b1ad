import { runBoundedShutdown, shutdownMsMax } from './bounded-shutdown';

describe('bounded shutdown', () => {
  const warnings: unknown[] = [];
  const logger = { warn: (...args: unknown[]) => void warnings.push(args) };

  beforeEach(() => {
    warnings.length = 0;
  });

  it('runs every step in order, past one that fails and one that never ends', async () => {
    const ran: string[] = [];
    const startedAt = Date.now();

    const outcomes = await runBoundedShutdown(
      [
        { name: 'hangs', limitMs: 50, run: () => new Promise(() => ran.push('hangs')) },
        {
          name: 'fails',
          limitMs: 1_000,
          run: async () => {
            ran.push('fails');
            throw new Error('Connection is closed.');
          },
        },
        { name: 'works', limitMs: 1_000, run: async () => void ran.push('works') },
      ],
      logger as never,
    );

    expect(ran).toEqual(['hangs', 'fails', 'works']);
    expect(outcomes.map(({ step, outcome }) => [step, outcome])).toEqual([
      ['hangs', 'timed_out'],
      ['fails', 'failed'],
      ['works', 'done'],
    ]);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(warnings).toHaveLength(2);
  });

  it('adds up the bounds of the steps', () => {
    expect(shutdownMsMax([{ limitMs: 1_500 }, { limitMs: 500 }])).toBe(2_000);
  });
});
