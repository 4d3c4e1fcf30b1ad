import { defaultOperationMix } from '../mix/operation-mix';
import { LoadgenUsageError, parseLoadgenOptions } from './loadgen-options';

describe('parseLoadgenOptions', () => {
  it('reads the acceptance command line with defaults for the rest', () => {
    const options = parseLoadgenOptions([
      '--profile',
      'peak',
      '--rate',
      '500',
      '--duration',
      '30',
      '--target',
      'fake',
    ]);

    expect(options).toMatchObject({
      profile: 'peak',
      rate: 500,
      durationSeconds: 30,
      target: 'fake',
      mix: defaultOperationMix,
      inFlightMax: 1000,
      requestCountMax: 5_000_000,
      drainTimeoutMs: 10_000,
      outputDirectory: undefined,
    });
  });

  it('reads the mix, the hot share and the fake target settings', () => {
    const options = parseLoadgenOptions([
      '--target=fake',
      '--mix=pay_same_cell=1,pay_cross_cell=1',
      '--hot-share=0.5',
      '--fake-latency-ms=12',
      '--fake-error-rate=0.2',
      '--fake-error-status=RESOURCE_EXHAUSTED',
      '--seed=9',
    ]);

    expect(options.mix).toEqual({
      weights: { pay_same_cell: 1, pay_cross_cell: 1, refund: 0, query: 0 },
      hotMerchantShare: 0.5,
    });
    expect(options.fake).toMatchObject({
      latencyMs: 12,
      errorRate: 0.2,
      errorStatus: 'RESOURCE_EXHAUSTED',
      seed: 9,
    });
  });

  it.each([
    [['--profile', 'peak'], '--target must be one of: fake (got nothing)'],
    [['--target', 'gateway'], '--target must be one of: fake (got gateway)'],
    [['--target', 'fake', '--profile', 'spike'], '--profile must be one of'],
    [['--target', 'fake', '--rate', '0'], '--rate must be a number within'],
    [['--target', 'fake', '--rate', 'fast'], '--rate must be a number within'],
    [['--target', 'fake', '--duration', '7200'], '--duration must be a number within'],
    [['--target', 'fake', '--in-flight-max', '2.5'], '--in-flight-max must be a whole number'],
    [['--target', 'fake', '--max-requests', '0'], '--max-requests must be a number within'],
    [['--target', 'fake', '--mix', 'transfer=1'], '--mix: mix entry "transfer=1"'],
    [['--target', 'fake', '--hot-share', '2'], '--hot-share must be a number within'],
    [['--target', 'fake', '--fake-error-status', 'not ok'], '--fake-error-status must be'],
    [['--target', 'fake', '--unknown'], "Unknown option '--unknown'"],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseLoadgenOptions(argv)).toThrow(LoadgenUsageError);
    expect(() => parseLoadgenOptions(argv)).toThrow(message);
  });
});
