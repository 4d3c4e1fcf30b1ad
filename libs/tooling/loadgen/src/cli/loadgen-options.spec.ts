import { defaultOperationMix } from '../mix/operation-mix';
import {
  defaultGatewayTargetFlags,
  LoadgenUsageError,
  parseLoadgenOptions,
} from './loadgen-options';

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

  it('sends shadow traffic to the gateway of the local cluster when no target is named', () => {
    const options = parseLoadgenOptions(['--profile', 'peak', '--rate', '500', '--duration', '30']);

    expect(options.target).toBe('gateway');
    expect(options.gateway).toEqual(defaultGatewayTargetFlags);
    expect(options.gateway.live).toBe(false);
  });

  it('reads the gateway target settings', () => {
    const options = parseLoadgenOptions([
      '--live',
      '--cluster-dir=/tmp/c',
      '--gateway=127.0.0.1:55051',
      '--cell-addresses=cell-1=127.0.0.1:55061',
      '--cells=cell-1,cell-2',
      '--payers=90',
      '--merchants-per-cell=3',
      '--top-up-minor=100000000',
    ]);

    expect(options.gateway).toEqual({
      live: true,
      clusterDir: '/tmp/c',
      gatewayAddress: '127.0.0.1:55051',
      cellAddresses: 'cell-1=127.0.0.1:55061',
      cells: ['cell-1', 'cell-2'],
      payers: 90,
      merchantsPerCell: 3,
      topUpMinor: 100_000_000n,
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
    [['--target', 'cluster'], '--target must be one of: gateway, fake (got cluster)'],
    [['--payers', '0'], '--payers must be a number within [1, 10000]'],
    [['--payers', '2.5'], '--payers must be a whole number'],
    [['--merchants-per-cell', '21'], '--merchants-per-cell must be a number within [1, 20]'],
    [['--top-up-minor', '1.5'], '--top-up-minor must be a whole number of minor units'],
    [['--top-up-minor', '100000001'], '--top-up-minor must be a whole number of minor units'],
    [['--cells', 'cell-1,Cell 2'], '--cells must be a list of cell IDs'],
    [['--live=yes'], "Option '--live' does not take an argument"],
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
