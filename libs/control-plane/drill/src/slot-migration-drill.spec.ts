import type { MigrationSummary } from '@cellpay/migration';
import { slotOf } from '@cellpay/routing';

import {
  MigrationTimeline,
  migrationDrillPayers,
  movingSlotsGroup,
  slotMigrationOperation,
  stayingSlotsGroup,
} from './slot-migration-drill';

function summary(overrides: Partial<MigrationSummary>): MigrationSummary {
  return {
    migrationId: 'mig_1',
    outcome: 'completed',
    slots: [17, 18],
    sourceCellId: 'cell-1',
    targetCellId: 'cell-3',
    epochs: { before: '4', frozen: '5', after: '6' },
    rounds: [],
    rowsCopied: { accounts: 10, payments: 120, journals: 0 },
    freezeMs: 2_100,
    reconciliation: {},
    timeline: [],
    durationMs: 5_000,
    ...overrides,
  };
}

describe('migrationDrillPayers', () => {
  it('puts every other payer in a moving slot and the rest in the source cell’s other slots', () => {
    const payers = migrationDrillPayers({
      runId: 'r1',
      movingSlots: [17, 18],
      stayingSlots: [3, 4, 5],
      slotCount: 100,
      payers: 10,
    });
    expect(payers).toHaveLength(10);
    expect(payers.filter((payer) => payer.group === movingSlotsGroup)).toHaveLength(5);
    payers.forEach((payer, index) => {
      expect(payer.group).toBe(index % 2 === 0 ? movingSlotsGroup : stayingSlotsGroup);
      const slot = slotOf(payer.userId, 100);
      expect(index % 2 === 0 ? [17, 18] : [3, 4, 5]).toContain(slot);
    });
    // Both moving slots get payers, and no user is used twice.
    expect(new Set(payers.slice(0, 4).map((payer) => slotOf(payer.userId, 100)))).toEqual(
      new Set([17, 18, 3, 4]),
    );
    expect(new Set(payers.map((payer) => payer.userId)).size).toBe(10);
  });

  it('refuses a drill without staying slots or with fewer than two payers', () => {
    const base = { runId: 'r', movingSlots: [1], stayingSlots: [2], slotCount: 10, payers: 4 };
    expect(() => migrationDrillPayers({ ...base, stayingSlots: [] })).toThrow(/other slots/);
    expect(() => migrationDrillPayers({ ...base, payers: 1 })).toThrow(/two payers/);
  });
});

describe('MigrationTimeline', () => {
  it('turns started/done events into steps and keeps the copy rounds as details', () => {
    const timeline = new MigrationTimeline(10_000);
    timeline.record({ step: 'bulk-copy', phase: 'started', elapsedMs: 0 });
    timeline.record({ step: 'catch-up', phase: 'done', elapsedMs: 40, detail: 'bulk: 12 rows' });
    timeline.record({ step: 'bulk-copy', phase: 'done', elapsedMs: 50 });
    timeline.record({ step: 'catch-up', phase: 'started', elapsedMs: 50 });
    timeline.record({
      step: 'catch-up',
      phase: 'done',
      elapsedMs: 70,
      detail: 'catch-up 1: 2 rows',
    });
    timeline.record({ step: 'catch-up', phase: 'done', elapsedMs: 71 });
    timeline.record({ step: 'verify', phase: 'started', elapsedMs: 100 });
    timeline.record({ step: 'verify', phase: 'failed', elapsedMs: 130, detail: 'mismatch' });
    expect(
      timeline.timeline().map(({ step, durationMs, outcome, detail, startedAt }) => ({
        step,
        durationMs,
        outcome,
        detail,
        at: startedAt.getTime(),
      })),
    ).toEqual([
      { step: 'bulk-copy', durationMs: 50, outcome: 'done', detail: 'bulk: 12 rows', at: 10_000 },
      {
        step: 'catch-up',
        durationMs: 20,
        outcome: 'done',
        detail: 'catch-up 1: 2 rows',
        at: 10_050,
      },
      { step: 'verify', durationMs: 30, outcome: 'failed', detail: 'mismatch', at: 10_100 },
    ]);
  });
});

describe('slotMigrationOperation', () => {
  it('reports a completed migration as done with its facts', async () => {
    const seen: MigrationSummary[] = [];
    const operation = slotMigrationOperation(
      'migrate 17,18',
      async (onProgress) => {
        onProgress({ step: 'freeze', phase: 'started', elapsedMs: 0 });
        onProgress({ step: 'freeze', phase: 'done', elapsedMs: 5 });
        onProgress({ step: 'flip', phase: 'started', elapsedMs: 1_000 });
        onProgress({ step: 'flip', phase: 'done', elapsedMs: 1_012 });
        return summary({});
      },
      (result) => seen.push(result),
    );
    const result = await operation.run();
    expect(result.outcome).toBeUndefined();
    expect(result.steps.map((step) => step.step)).toEqual(['freeze', 'flip']);
    expect(result.window?.name).toBe('freeze');
    expect((result.window?.to.getTime() ?? 0) - (result.window?.from.getTime() ?? 0)).toBe(1_012);
    expect(result.facts).toMatchObject({
      'migration outcome': 'completed',
      'rows copied': '130 (accounts 10, payments 120)',
      'freeze (ms, freeze commit to flip or unfreeze commit)': 2_100,
      'routing epochs (before -> frozen -> after)': '4 -> 5 -> 6',
    });
    expect(seen).toHaveLength(1);
  });

  it('reports an aborted migration as aborted with its reason, and a late failure as failed', async () => {
    const aborted = await slotMigrationOperation('m', async () =>
      summary({
        outcome: 'aborted',
        error: { code: 'verification_failed', message: 'verification_failed: 2 differences' },
        droppedFromTarget: { accounts: 3, payments: 4 },
      }),
    ).run();
    expect(aborted.outcome).toBe('aborted');
    expect(aborted.reason).toBe('verification_failed: 2 differences');
    expect(aborted.facts['rows dropped from the target (abort)']).toBe(7);
    const late = await slotMigrationOperation('m', async () =>
      summary({ outcome: 'failed_after_flip' }),
    ).run();
    expect(late.outcome).toBe('failed');
    expect(late.reason).toBe('failed_after_flip');
  });
});
