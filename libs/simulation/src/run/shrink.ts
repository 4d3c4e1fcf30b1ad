import { keepActions, type Scenario } from '../workload/scenario';
import type { PlantedBugs } from '../settlement/planted-bugs';
import { runScenario, type SimulationResult } from './simulation';

/** Runs spent looking for a shorter failing history, at most. */
export const shrinkRunsMax = 150;

export interface ShrinkResult {
  readonly scenario: Scenario;
  readonly result: SimulationResult;
  readonly runs: number;
}

/**
 * Looks for the shortest history that still breaks the same invariant: removes chunks of the
 * scripted actions, halving the chunk size down to single actions, and keeps every removal after
 * which the run still fails that way. Each candidate is an ordinary deterministic run.
 */
export async function shrinkFailure(
  scenario: Scenario,
  failed: SimulationResult,
  bugs: PlantedBugs = {},
): Promise<ShrinkResult> {
  const invariant = failed.violations[0]?.invariant;
  if (invariant === undefined) throw new Error('only a failing run can be shrunk');
  let best = { scenario, result: failed };
  let runs = 0;
  for (
    let chunk = Math.max(1, Math.floor(scenario.actions.length / 2));
    chunk >= 1 && runs < shrinkRunsMax;
    chunk = Math.floor(chunk / 2)
  ) {
    for (let start = 0; start < best.scenario.actions.length && runs < shrinkRunsMax;) {
      const removed = new Set(
        best.scenario.actions.slice(start, start + chunk).map((action) => action.index),
      );
      const kept = new Set(
        best.scenario.actions
          .filter((action) => !removed.has(action.index))
          .map((action) => action.index),
      );
      const candidate = keepActions(best.scenario, kept);
      runs += 1;
      const result = await runScenario({ scenario: candidate, bugs });
      if (result.violations[0]?.invariant === invariant) best = { scenario: candidate, result };
      else start += chunk;
    }
    if (chunk === 1) break;
  }
  return { ...best, runs };
}
