import type { PlantedBugs } from '../settlement/planted-bugs';
import { generateScenario, keepActions } from '../workload/scenario';
import { parseSimulateArgs, runSimulateCli } from './simulate-cli';
import { shrinkFailure } from './shrink';
import { runScenario, type SimulationResult } from './simulation';

/** The quick run of `npm test`: this many seeds of this many steps each. */
const quickSeeds = 200;
const quickSteps = 100;

async function firstFailingSeed(
  steps: number,
  bugs: PlantedBugs = { skipInboxDedup: true },
): Promise<{ seed: number; result: SimulationResult } | undefined> {
  for (let seed = 1; seed <= quickSeeds; seed++) {
    const result = await runScenario({ scenario: generateScenario(seed, steps), bugs });
    if (result.violations.length > 0) return { seed, result };
  }
  return undefined;
}

/** The search for the inbox bug runs once; three tests look at what it found. */
let inboxBugSearch: ReturnType<typeof firstFailingSeed> | undefined;
function inboxBugFailure(): ReturnType<typeof firstFailingSeed> {
  inboxBugSearch ??= firstFailingSeed(quickSteps);
  return inboxBugSearch;
}

describe('deterministic simulation', () => {
  it('gives the same trace hash for the same seed, and another for another seed', async () => {
    const first = await runScenario({ scenario: generateScenario(7, 150) });
    const again = await runScenario({ scenario: generateScenario(7, 150) });
    const other = await runScenario({ scenario: generateScenario(8, 150) });
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.stats).toEqual(first.stats);
    expect(other.traceHash).not.toBe(first.traceHash);
  });

  it(`quick run: ${quickSeeds} seeds of ${quickSteps} steps keep every invariant`, async () => {
    const failures: string[] = [];
    let operations = 0;
    let crashes = 0;
    let duplicates = 0;
    for (let seed = 1; seed <= quickSeeds; seed++) {
      const result = await runScenario({ scenario: generateScenario(seed, quickSteps) });
      operations += result.stats.operationsIssued;
      crashes +=
        result.stats.cellCrashes + result.stats.relayCrashes + result.stats.consumerCrashes;
      duplicates += result.stats.busDuplicated + result.stats.busAckLost;
      for (const violation of result.violations) {
        failures.push(`seed ${seed}: ${violation.invariant}: ${violation.detail}`);
      }
    }
    expect(failures).toEqual([]);
    // The run must have exercised the faults it claims to, or passing means nothing.
    expect(operations).toBeGreaterThan(quickSeeds * 20);
    expect(crashes).toBeGreaterThan(quickSeeds);
    expect(duplicates).toBeGreaterThan(10);
  }, 60_000);

  it('catches a planted bug (no inbox dedup) within the quick run, and its seed replays it', async () => {
    const found = await inboxBugFailure();
    expect(found).toBeDefined();
    if (found === undefined) return;
    const violation = found.result.violations[0];
    expect(violation?.invariant).toBe('acknowledged_operation_applied_exactly_once');
    expect(violation?.detail).toMatch(/settlement event .* was applied twice/);
    const replay = await runScenario({
      scenario: generateScenario(found.seed, quickSteps),
      bugs: { skipInboxDedup: true },
    });
    expect(replay.traceHash).toBe(found.result.traceHash);
    expect(replay.violations).toEqual(found.result.violations);
    // Without the bug the same seed is clean: the simulator blames the bug, not the world.
    const healthy = await runScenario({ scenario: generateScenario(found.seed, quickSteps) });
    expect(healthy.violations).toEqual([]);
  }, 60_000);

  it('catches a cell that skips its slot-ownership check within the quick run', async () => {
    const bugs = { skipSlotOwnershipCheck: true };
    const found = await firstFailingSeed(quickSteps, bugs);
    expect(found?.result.violations[0]?.invariant).toBe('slot_owned_by_applying_cell_at_epoch');
    if (found === undefined) return;
    const replay = await runScenario({ scenario: generateScenario(found.seed, quickSteps), bugs });
    expect(replay.traceHash).toBe(found.result.traceHash);
  }, 60_000);

  it('shrinks a failing history to a shorter one that still fails the same way', async () => {
    const found = await inboxBugFailure();
    if (found === undefined) throw new Error('the planted bug was not found');
    const scenario = generateScenario(found.seed, quickSteps);
    const shrunk = await shrinkFailure(scenario, found.result, { skipInboxDedup: true });
    expect(shrunk.scenario.actions.length).toBeLessThan(scenario.actions.length);
    expect(shrunk.result.violations[0]?.invariant).toBe(found.result.violations[0]?.invariant);
    const kept = new Set(shrunk.scenario.actions.map((action) => action.index));
    const replay = await runScenario({
      scenario: keepActions(scenario, kept),
      bugs: { skipInboxDedup: true },
    });
    expect(replay.traceHash).toBe(shrunk.result.traceHash);
  }, 60_000);
});

describe('simulate command line', () => {
  const capture = (): { text: () => string; write: (chunk: string) => void } => {
    let text = '';
    return { text: () => text, write: (chunk) => (text += chunk) };
  };

  it('reports seeds and operations per minute on a clean run', async () => {
    const out = capture();
    let now = 0;
    const code = await runSimulateCli(['--seed', '3', '--steps', '40', '--seeds', '2'], out, () => {
      now += 500;
      return now;
    });
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^ok {3}seed 3 trace [0-9a-f]{16} /m);
    expect(out.text()).toMatch(/2 seeds, \d+ simulated operations in .* per minute/);
  });

  it('prints the seed, trace hash, violation, shortest history and replay command on a failure', async () => {
    const found = await inboxBugFailure();
    if (found === undefined) throw new Error('the planted bug was not found');
    const out = capture();
    const args = ['--seed', String(found.seed), '--steps', String(quickSteps)];
    const code = await runSimulateCli([...args, '--plant-bug', 'skip-inbox-dedup'], out, () => 0);
    expect(code).toBe(1);
    const text = out.text();
    expect(text).toContain(`FAIL seed ${found.seed} trace ${found.result.traceHash.slice(0, 16)}`);
    expect(text).toContain('violation acknowledged_operation_applied_exactly_once');
    expect(text).toMatch(/shortest failing history found \(\d+ of \d+ actions/);
    const replay = /replay: npm run simulate -- (.*)\n/.exec(text)?.[1];
    expect(replay).toBeDefined();
    const again = capture();
    expect(await runSimulateCli(replay?.split(' ') ?? [], again, () => 0)).toBe(1);
  }, 60_000);

  it('refuses options it does not know and malformed numbers, naming the problem', () => {
    expect(() => parseSimulateArgs(['--seed', 'x'])).toThrow(/--seed must be a whole number/);
    expect(() => parseSimulateArgs(['--speed', '1'])).toThrow(/unknown option --speed/);
    expect(() => parseSimulateArgs(['--seed'])).toThrow(/usage/);
    expect(() => parseSimulateArgs(['--plant-bug', 'other'])).toThrow(/usage/);
    expect(parseSimulateArgs(['--keep', '1,4']).keep).toEqual(new Set([1, 4]));
  });
});
