import type { LoadOperation, OperationOutcome } from '@cellpay/loadgen';

import type { AcknowledgedPayment, DrillTarget, WriteAttempt } from './drill-load';
import type { DrillOperation, DrillVerifier } from './drill-operation';
import { renderDrillMarkdown } from './drill-report-writer';
import {
  classifyErrors,
  isRetryableRefusal,
  longestOutage,
  runDrill,
  type DrillRequest,
} from './drill-runner';

/** Acknowledges every payment except while `failing()` says the cell is down. */
class FakeTarget implements DrillTarget {
  readonly name = 'fake';
  readonly acknowledged: AcknowledgedPayment[] = [];
  readonly attempts: WriteAttempt[] = [];
  prepared = false;

  constructor(
    private readonly failing: () => boolean,
    /** Payers take turns by sequence; the odd ones are `moving` and fail while `failing()`. */
    private readonly split = false,
  ) {}

  async prepare(): Promise<void> {
    this.prepared = true;
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  async execute(operation: LoadOperation): Promise<OperationOutcome> {
    const now = Date.now();
    const group = !this.split ? 'all' : operation.sequence % 2 === 1 ? 'moving' : 'staying';
    const affected = !this.split || group === 'moving';
    const status = affected && this.failing() ? 'UNAVAILABLE.slot_frozen' : 'ok';
    if (status === 'ok') {
      this.acknowledged.push({
        paymentId: `pay_${operation.sequence}`,
        outTradeNo: `t${operation.sequence}`,
        acknowledgedAtMs: now,
        group,
      });
    }
    this.attempts.push({ startedAtMs: now, completedAtMs: now, status, group });
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

  it('counts failures before the first success and after the last one as outages too', () => {
    expect(
      longestOutage([
        attempt(1_000, 'UNAVAILABLE.slot_frozen'),
        attempt(2_000),
        attempt(2_100),
        attempt(2_200, 'UNAVAILABLE.slot_frozen'),
      ]),
    ).toEqual({
      longestGapMs: 1_005,
      gapStartedAt: new Date(995).toISOString(),
      gapEndedAt: new Date(2_000).toISOString(),
    });
    expect(
      longestOutage([attempt(1_000), attempt(1_100), attempt(3_000, 'UNAVAILABLE.slot_frozen')])
        .longestGapMs,
    ).toBe(1_900);
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

  it('measures the RTO on the named payer group and counts each group apart', async () => {
    let down = false;
    const target = new FakeTarget(() => down, true);
    const operation: DrillOperation = {
      name: 'fake migration',
      run: async () => {
        down = true;
        await new Promise((resolve) => setTimeout(resolve, 400));
        down = false;
        return { steps: [], facts: {} };
      },
    };
    const report = await runDrill(
      request({ target, operation, rtoGroup: 'moving', durationSeconds: 3, operationAtSeconds: 1 }),
    );
    expect(report.rto.group).toBe('moving');
    expect(report.rto.longestGapMs).toBeGreaterThanOrEqual(350);
    expect(report.groups['staying']?.failed).toBe(0);
    expect(report.groups['staying']?.longestGapMs).toBeLessThan(200);
    expect(report.groups['moving']?.failed).toBeGreaterThan(0);
    expect(report.errorClasses.window?.name).toBe('operation');
    expect(report.errorClasses.onlyRetryableInWindow).toBe(true);
    expect(report.errorClasses.inWindow['UNAVAILABLE.slot_frozen']).toBe(
      report.groups['moving']?.failed,
    );
    const markdown = renderDrillMarkdown(report);
    expect(markdown).toContain('of a moving payer) |');
    expect(markdown).toContain('| only retryable errors during the operation | yes |');
    expect(markdown).toMatch(/\| moving \| \d+ \| \d+ \| [1-9]\d* \|/);
  });

  it('reports an operation that aborted and undid itself with its reason and its steps', async () => {
    const step = {
      step: 'verify',
      startedAt: new Date(1_000),
      endedAt: new Date(1_010),
      durationMs: 10,
      outcome: 'failed' as const,
      detail: 'verification_failed: 1 differences',
    };
    const report = await runDrill(
      request({
        operation: {
          name: 'migration',
          run: async () => ({
            steps: [step],
            facts: { 'migration outcome': 'aborted' },
            outcome: 'aborted',
            reason: 'verification_failed: 1 differences',
          }),
        },
        verifier: {
          ...cleanVerifier(),
          placement: async () => ({ duplicated: ['pay_1'], misplaced: [] }),
        },
      }),
    );
    expect(report.operationOutcome).toBe('aborted');
    expect(report.operationError).toBe('verification_failed: 1 differences');
    expect(report.timeline).toEqual([step]);
    expect(report.placement).toEqual({
      duplicated: 1,
      misplaced: 0,
      keptOnSource: 0,
      sample: ['duplicated pay_1'],
    });
    const markdown = renderDrillMarkdown(report);
    expect(markdown).toContain('| operation | aborted: verification_failed: 1 differences |');
    expect(markdown).toContain('| duplicated payments (across both shards) | 1 |');
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

describe('client error classes', () => {
  it('counts only routing refusals of UNAVAILABLE or ABORTED as retryable', () => {
    expect(isRetryableRefusal('UNAVAILABLE.slot_frozen')).toBe(true);
    expect(isRetryableRefusal('ABORTED.slot_not_owned_at_epoch')).toBe(true);
    expect(isRetryableRefusal('UNAVAILABLE.routing_epoch_ahead_of_cell')).toBe(true);
    expect(isRetryableRefusal('UNAVAILABLE.routing_stale')).toBe(true);
    expect(isRetryableRefusal('DEADLINE_EXCEEDED.')).toBe(false);
    expect(isRetryableRefusal('INTERNAL.slot_frozen')).toBe(false);
    expect(isRetryableRefusal('FAILED_PRECONDITION.insufficient_funds')).toBe(false);
    expect(isRetryableRefusal('UNAVAILABLE')).toBe(false);
  });

  it('judges the errors of attempts that overlapped the window, and lists the others apart', () => {
    const at = (completedAtMs: number, status: string, tookMs = 0): WriteAttempt => ({
      startedAtMs: completedAtMs - tookMs,
      completedAtMs,
      status,
    });
    const window = {
      name: 'freeze',
      from: new Date(1_000).toISOString(),
      to: new Date(2_000).toISOString(),
    };
    const classes = classifyErrors(
      [
        at(100, 'UNAVAILABLE.slot_frozen'),
        at(1_500, 'UNAVAILABLE.slot_frozen'),
        // Began inside the freeze, ended (after the SDK's retries) past its end: inside.
        at(2_600, 'UNAVAILABLE.slot_frozen', 800),
        at(1_600, 'DEADLINE_EXCEEDED.'),
        at(1_700, 'ok'),
        at(5_000, 'FAILED_PRECONDITION.insufficient_funds'),
      ],
      window,
    );
    expect(classes).toEqual({
      window,
      onlyRetryableInWindow: false,
      inWindow: { 'UNAVAILABLE.slot_frozen': 2, 'DEADLINE_EXCEEDED.': 1 },
      nonRetryableInWindow: { 'DEADLINE_EXCEEDED.': 1 },
      nonRetryableOutside: { 'FAILED_PRECONDITION.insufficient_funds': 1 },
    });
    expect(
      classifyErrors([at(100, 'DEADLINE_EXCEEDED.'), at(1_500, 'UNAVAILABLE.slot_frozen')], window)
        .onlyRetryableInWindow,
    ).toBe(true);
  });
});
