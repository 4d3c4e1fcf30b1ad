import { pollUntil } from '@cellpay/testing';

import {
  CellBreakers,
  CellUnavailableError,
  cellBreakerDefaults,
  type BreakerState,
} from './cell-breakers';

class CellDown extends Error {}
class InsufficientFunds extends Error {}

describe('CellBreakers', () => {
  let breakers: CellBreakers;
  const transitions: [string, BreakerState][] = [];

  beforeEach(() => {
    transitions.length = 0;
    breakers = new CellBreakers(
      {
        ...cellBreakerDefaults,
        volumeThreshold: 4,
        resetTimeoutMs: 100,
        callTimeoutMs: 1_000,
        inFlightMax: 2,
        isCellFailure: (error) => error instanceof CellDown,
      },
      (cellId, state) => transitions.push([cellId, state]),
    );
  });

  afterEach(() => breakers.shutdown());

  const down = () => Promise.reject(new CellDown('connection refused'));

  it('opens after failures, fails fast without calling the cell, and keeps other cells closed', async () => {
    for (let i = 0; i < 4; i++)
      await expect(breakers.call('cell-1', down)).rejects.toThrow(CellDown);
    expect(breakers.state('cell-1')).toBe('open');

    let called = false;
    await expect(
      breakers.call('cell-1', async () => {
        called = true;
      }),
    ).rejects.toEqual(new CellUnavailableError('cell-1', 'breaker_open'));
    expect(called).toBe(false);
    await expect(breakers.call('cell-2', async () => 'ok')).resolves.toBe('ok');
    expect(breakers.state('cell-2')).toBe('closed');
    expect(transitions).toEqual([['cell-1', 'open']]);
  });

  it('lets a trial call through after the reset timeout and closes on success', async () => {
    for (let i = 0; i < 4; i++)
      await expect(breakers.call('cell-1', down)).rejects.toThrow(CellDown);
    await pollUntil(() => breakers.state('cell-1') === 'half_open', {
      timeoutMs: 2_000,
      intervalMs: 10,
    });
    await expect(breakers.call('cell-1', async () => 'back')).resolves.toBe('back');
    expect(breakers.state('cell-1')).toBe('closed');
    expect(transitions.map(([, state]) => state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('does not count business refusals as cell failures', async () => {
    const refuse = () => Promise.reject(new InsufficientFunds());
    for (let i = 0; i < 10; i++)
      await expect(breakers.call('cell-1', refuse)).rejects.toThrow(InsufficientFunds);
    expect(breakers.state('cell-1')).toBe('closed');
  });

  it('bounds the calls in flight to one cell', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = () => gate.then(() => 'done');
    const first = breakers.call('cell-1', slow);
    const second = breakers.call('cell-1', slow);
    await expect(breakers.call('cell-1', slow)).rejects.toEqual(
      new CellUnavailableError('cell-1', 'in_flight_limit'),
    );
    release();
    await expect(Promise.all([first, second])).resolves.toEqual(['done', 'done']);
  });
});
