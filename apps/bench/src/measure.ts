import { readFileSync } from 'node:fs';

export interface RunBounds {
  readonly concurrency: number;
  readonly durationMs: number;
  /** Hard cap on operations, whatever the duration. */
  readonly operationsMax: number;
}

export interface RunResult {
  readonly operations: number;
  readonly errors: ReadonlyMap<string, number>;
  readonly elapsedMs: number;
  readonly latenciesMs: Float64Array;
  readonly cpuMs: number;
}

/** CPU time (user + system) of a process so far, in ms, from /proc (Linux clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After the command name: state is field 3, utime field 14 and stime field 15 (1-based).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) * 10;
}

/**
 * Closed-loop workers, each running `operation` back to back until the duration or the operation
 * cap is reached: the throughput a fixed number of concurrent clients get. CPU is counted for this
 * process and for the given server processes (the shard), so "CPU per payment" covers both sides.
 */
export async function runWorkers(
  bounds: RunBounds,
  serverPids: readonly number[],
  operation: (index: number) => Promise<void>,
  // In-process runs count this process (it runs the cell's code); runs through the network do
  // not, since this process is then only the load generator.
  settings: { readonly countOwnCpu: boolean } = { countOwnCpu: true },
): Promise<RunResult> {
  const latencies = new Float64Array(bounds.operationsMax);
  const errors = new Map<string, number>();
  let next = 0;
  let done = 0;
  const cpuBefore = process.cpuUsage();
  const serverBefore = serverPids.map(processCpuMs);
  const started = performance.now();
  const deadline = started + bounds.durationMs;
  const worker = async () => {
    for (;;) {
      if (performance.now() >= deadline) return;
      const index = next++;
      if (index >= bounds.operationsMax) return;
      const begin = performance.now();
      try {
        await operation(index);
      } catch (error) {
        const code = (error as { code?: string }).code ?? (error as Error).name;
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
      latencies[done++] = performance.now() - begin;
    }
  };
  await Promise.all(Array.from({ length: bounds.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const serverMs = serverPids.reduce(
    (sum, pid, i) => sum + processCpuMs(pid) - (serverBefore[i] ?? 0),
    0,
  );
  return {
    operations: done,
    errors,
    elapsedMs,
    latenciesMs: latencies.slice(0, done).sort(),
    cpuMs: (settings.countOwnCpu ? (cpu.user + cpu.system) / 1000 : 0) + serverMs,
  };
}

export function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}
