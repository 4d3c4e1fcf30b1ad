import type { LoadOperation, OperationOutcome } from '@cellpay/loadgen';

import type { AcknowledgedPayment, DrillTarget, WriteAttempt } from './drill-load';
import type { DrillOperation, DrillVerifier } from './drill-operation';
import { renderDrillMarkdown } from './drill-report-writer';
import { longestOutage, runDrill, type DrillRequest } from './drill-runner';

/** Acknowledges every payment except while `failing()` says the cell is down. */
class FakeTarget implements DrillTarget {
  readonly name = 'fake';
  readonly acknowledged: AcknowledgedPayment[] = [];
  readonly attempts: WriteAttempt[] = [];
  prepared = false;

  constructor(private readonly failing: () => boolean) {}

  async prepare(): Promise<void> {
    this.prepared = true;
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  async execute(operation: LoadOperation): Promise<OperationOutcome> {
    const now = Date.now();
    const status = this.failing() ? 'UNAVAILABLE.slot_frozen' : 'ok';
    if (status === 'ok') {
      this.acknowledged.push({
        paymentId: `pay_${operation.sequence}`,
        outTradeNo: `t${operation.sequence}`,
        acknowledgedAtMs: now,
      });
    }
    this.attempts.push({ startedAtMs: now, completedAtMs: now, status });
    return { status };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const cleanVerifier = (missing: string[] = []): DrillVerifier => ({
  missingPayments: async () => missing,
  reconcile: async () => ({ clean: true, summary: 'clean; 0 difference(s)' }),
});

function request(overrides: Partial<DrillRequest>): DrillRequest {
  return {
    kind: 'failover',
    target: new FakeTarget(() => false),
    operation: { name: 'noop', run: async () => ({ steps: [], facts: {} }) },
    verifier: cleanVerifier(),
    ratePerSecond: 50,
    durationSeconds: 2,
    operationAtSeconds: 0,
    progress: () => undefined,
    ...overrides,
  };
}

describe('longestOutage', () => {
  const attempt = (completedAtMs: number, status = 'ok'): WriteAttempt => ({
    startedAtMs: completedAtMs - 5,
    completedAtMs,
    status,
  });

  it('is the longest stretch between two successful writes, failures in between ignored', () => {
    const outage = longestOutage([
      attempt(1_000),
      attempt(1_100),
      attempt(1_200, 'UNAVAILABLE.slot_frozen'),
      attempt(2_900),
      attempt(3_000),
    ]);
    expect(outage.longestGapMs).toBe(1_800);
    expect(outage.gapStartedAt).toBe(new Date(1_100).toISOString());
    expect(outage.gapEndedAt).toBe(new Date(2_900).toISOString());
  });

  it('spans the whole run when nothing succeeded, and is zero without attempts', () => {
    expect(longestOutage([attempt(500, 'INTERNAL.internal'), attempt(900, 'x')]).longestGapMs).toBe(
      405,
    );
    expect(longestOutage([]).longestGapMs).toBe(0);
  });
});

describe('runDrill', () => {
  it('runs the operation under load and reports RPO, reconciliation and client errors', async () => {
    let down = false;
    const target = new FakeTarget(() => down);
    const operation: DrillOperation = {
      name: 'fake failover',
      run: async () => {
        down = true;
        await new Promise((resolve) => setTimeout(resolve, 300));
        down = false;
        return { steps: [], facts: { 'engine write unavailability (ms)': 300 } };
      },
    };
    const report = await runDrill(request({ target, operation }));
    expect(target.prepared).toBe(true);
    expect(report.operationOutcome).toBe('done');
    expect(report.rpo).toEqual({ acknowledged: report.load.ok, missing: 0, missingSample: [] });
    expect(report.clientErrors['UNAVAILABLE.slot_frozen']).toBeGreaterThan(0);
    expect(report.rto.longestGapMs).toBeGreaterThanOrEqual(250);
    expect(report.facts['engine write unavailability (ms)']).toBe(300);
    expect(renderDrillMarkdown(report)).toContain(
      '| RPO (acknowledged payments missing afterwards) | 0 of',
    );
  });

  it('reports a failed operation and missing acknowledged payments instead of hiding them', async () => {
    const report = await runDrill(
      request({
        operation: {
          name: 'broken',
          run: async () => {
            throw new Error('replica_catch_up_timed_out: cell-1@region-b did not apply');
          },
        },
        verifier: cleanVerifier(['pay_1', 'pay_2']),
      }),
    );
    expect(report.operationOutcome).toBe('failed');
    expect(report.operationError).toMatch(/replica_catch_up_timed_out/);
    expect(report.rpo.missing).toBe(2);
    expect(report.rpo.missingSample).toEqual(['pay_1', 'pay_2']);
    const markdown = renderDrillMarkdown(report);
    expect(markdown).toContain('| operation | failed: replica_catch_up_timed_out');
    expect(markdown).toContain('- pay_2');
  });

  it('refuses loads outside its bounds before touching anything', async () => {
    const target = new FakeTarget(() => false);
    await expect(runDrill(request({ target, ratePerSecond: 501 }))).rejects.toThrow(/--load/);
    await expect(runDrill(request({ target, durationSeconds: 601 }))).rejects.toThrow(/--duration/);
    await expect(runDrill(request({ target, operationAtSeconds: 2 }))).rejects.toThrow(
      /a second before the load ends/,
    );
    expect(target.prepared).toBe(false);
  });
});
