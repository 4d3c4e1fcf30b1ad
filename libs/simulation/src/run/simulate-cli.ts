import { describeAction, generateScenario, keepActions } from '../workload/scenario';
import type { PlantedBugs } from '../settlement/planted-bugs';
import { shrinkFailure } from './shrink';
import { runScenario, type SimulationResult } from './simulation';

export interface SimulateCliOutput {
  write(text: string): void;
}

export interface SimulateOptions {
  readonly seed: number;
  readonly seeds: number;
  readonly steps: number;
  readonly keep: ReadonlySet<number> | undefined;
  readonly minutes: number | undefined;
  readonly bugs: PlantedBugs;
}

const usage =
  'usage: simulate --seed <n> [--steps <n>] [--seeds <n>] [--minutes <n>] [--keep i,j,k] [--plant-bug skip-inbox-dedup]';

/** Parses the command line; throws with the usage on anything it does not understand. */
export function parseSimulateArgs(args: readonly string[]): SimulateOptions {
  const values = new Map<string, string>();
  for (let index = 0; index < args.length; index += 2) {
    const name = args[index];
    const value = args[index + 1];
    if (name === undefined || !name.startsWith('--') || value === undefined) {
      throw new Error(usage);
    }
    values.set(name.slice(2), value);
  }
  const integer = (name: string, fallback: number): number => {
    const text = values.get(name);
    if (text === undefined) return fallback;
    if (!/^\d{1,9}$/.test(text)) throw new Error(`--${name} must be a whole number; ${usage}`);
    return Number(text);
  };
  for (const name of values.keys()) {
    if (!['seed', 'steps', 'seeds', 'minutes', 'keep', 'plant-bug'].includes(name)) {
      throw new Error(`unknown option --${name}; ${usage}`);
    }
  }
  const keepText = values.get('keep');
  const bug = values.get('plant-bug');
  if (bug !== undefined && bug !== 'skip-inbox-dedup') throw new Error(usage);
  return {
    seed: integer('seed', 1),
    seeds: integer('seeds', 1),
    steps: integer('steps', 200),
    keep:
      keepText === undefined
        ? undefined
        : new Set(keepText.split(',').map((item) => Number(item.trim()))),
    minutes: values.has('minutes') ? integer('minutes', 1) : undefined,
    bugs: bug === undefined ? {} : { skipInboxDedup: true },
  };
}

function summary(result: SimulationResult): string {
  const s = result.stats;
  return (
    `seed ${result.seed} trace ${result.traceHash.slice(0, 16)} ` +
    `ops ${s.operationsIssued} (ok ${s.operationsSucceeded}, refused ${s.operationsRefused}, attempts ${s.attempts}) ` +
    `events ${s.events} crashes ${s.cellCrashes}/${s.relayCrashes}/${s.consumerCrashes} ` +
    `routing ${s.routingChanges} bus ${s.busPublished} (lost ${s.busLost}, ack-lost ${s.busAckLost}, dup ${s.busDuplicated}) ` +
    `applied ${s.eventsApplied} refusals-overtaken ${s.refusalsOvertakenByCommit} virtual ${s.virtualMs}ms`
  );
}

/**
 * `npm run simulate`: one seed (or a range, or as many as fit in some minutes), each checked
 * against every invariant; a failure prints its seed, trace hash, the violation, the end of the
 * trace and the shortest failing history found, with the command that replays it.
 */
export async function runSimulateCli(
  args: readonly string[],
  out: SimulateCliOutput,
  nowMs: () => number,
): Promise<number> {
  const options = parseSimulateArgs(args);
  const started = nowMs();
  let operations = 0;
  let seedsRun = 0;
  for (let offset = 0; ; offset++) {
    if (options.minutes === undefined && offset >= options.seeds) break;
    if (options.minutes !== undefined && nowMs() - started >= options.minutes * 60_000) break;
    const seed = options.seed + offset;
    const generated = generateScenario(seed, options.steps);
    const scenario = options.keep === undefined ? generated : keepActions(generated, options.keep);
    const result = await runScenario({ scenario, bugs: options.bugs });
    seedsRun += 1;
    operations += result.stats.operationsIssued;
    if (result.violations.length === 0) {
      out.write(`ok   ${summary(result)}\n`);
      continue;
    }
    out.write(`FAIL ${summary(result)}\n`);
    for (const violation of result.violations) {
      out.write(`  violation ${violation.invariant} at ${violation.atMs}ms: ${violation.detail}\n`);
    }
    out.write('  trace (last lines):\n');
    for (const line of result.traceTail) out.write(`    ${line}\n`);
    const shrunk = await shrinkFailure(scenario, result, options.bugs);
    out.write(
      `  shortest failing history found (${shrunk.scenario.actions.length} of ${scenario.actions.length} actions, ${shrunk.runs} runs):\n`,
    );
    for (const action of shrunk.scenario.actions) out.write(`    ${describeAction(action)}\n`);
    out.write(`  its violation: ${shrunk.result.violations[0]?.detail ?? '(none)'}\n`);
    out.write(`  its trace (hash ${shrunk.result.traceHash.slice(0, 16)}, last lines):\n`);
    for (const line of shrunk.result.traceTail) out.write(`    ${line}\n`);
    const keep = shrunk.scenario.actions.map((action) => action.index).join(',');
    out.write(
      `  replay: npm run simulate -- --seed ${seed} --steps ${options.steps} --keep ${keep}${options.bugs.skipInboxDedup ? ' --plant-bug skip-inbox-dedup' : ''}\n`,
    );
    return 1;
  }
  const elapsedMs = Math.max(1, nowMs() - started);
  out.write(
    `${seedsRun} seeds, ${operations} simulated operations in ${(elapsedMs / 1000).toString()} s: ` +
      `${Math.round((seedsRun * 60_000) / elapsedMs)} seeds and ${Math.round((operations * 60_000) / elapsedMs)} operations per minute\n`,
  );
  return 0;
}
