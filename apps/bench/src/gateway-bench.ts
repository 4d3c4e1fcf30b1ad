import {
  gatewayTargetOn,
  okStatus,
  type OperationKind,
  type SettlementLagPercentiles,
} from '@cellpay/loadgen';

import type { BenchCluster } from './bench-cluster';
import { percentile, type RunBounds, type RunResult, runWorkers } from './measure';

export interface GatewayBenchOptions extends RunBounds {
  /** The cells whose users take part (the others idle). */
  readonly cells: readonly string[];
  /** Share (0..1) of payments whose payer lives in another cell than the merchant. */
  readonly crossCellShare: number;
  readonly payers: number;
  readonly seed: number;
}

/** Settlement lags kept per run (the follower samples far fewer in a bench run). */
export const benchSettlementLagsMax = 100_000;

/** A run through the gateway, with the settlement lag of its followed cross-cell payments. */
export interface GatewayRunResult extends RunResult {
  /** Null when no followed payment settled (no cross-cell payments, or none settled in time). */
  readonly settlementLagMs: SettlementLagPercentiles | null;
  readonly settlementUnsettled: number;
}

/** An operation the platform refused: counted under its status by the worker loop. */
class RefusedOperation extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Payments end to end through the gateway, as merchants send them (signed, through the SDK, live
 * traffic), with closed-loop clients: the throughput the cluster gives that many clients. CPU is
 * that of the gateway, the cells used and their MariaDB servers; the generator's own is left out.
 * Settlement lag comes from the load generator's own mechanism (the gateway target follows a
 * sample of cross-cell payments to `settled`); its tail is waited for after the measured
 * window, so the wait counts in neither the throughput nor the CPU.
 */
export async function benchGatewayPayments(
  cluster: BenchCluster,
  options: GatewayBenchOptions,
  log: (line: string) => void,
): Promise<GatewayRunResult> {
  const target = gatewayTargetOn(
    cluster.fleet,
    {
      cells: options.cells,
      payers: options.payers,
      topUpMinor: 100_000_000n,
      live: true,
      crossCell: options.crossCellShare > 0,
      seed: options.seed,
    },
    log,
  );
  const lagsMs: number[] = [];
  let settlementUnsettled = 0;
  await target.open({
    settlementLag: (seconds) => {
      if (lagsMs.length < benchSettlementLagsMax) lagsMs.push(seconds * 1000);
    },
    settlementUnsettled: () => {
      settlementUnsettled += 1;
    },
  });
  try {
    const result = await runWorkers(
      options,
      cluster.serverPids(options.cells),
      async (index) => {
        // A fixed interleave rather than a random draw: the same run has the same mix every time.
        const crossCell = (index * options.crossCellShare) % 1 < options.crossCellShare;
        const kind: OperationKind = crossCell ? 'pay_cross_cell' : 'pay_same_cell';
        const outcome = await target.execute({ sequence: index, kind, hotMerchant: false });
        if (outcome.status !== okStatus) throw new RefusedOperation(outcome.status);
      },
      { countOwnCpu: false },
    );
    await target.settled();
    return { ...result, settlementLagMs: lagPercentiles(lagsMs), settlementUnsettled };
  } finally {
    await target.close();
  }
}

function lagPercentiles(lagsMs: readonly number[]): SettlementLagPercentiles | null {
  if (lagsMs.length === 0) return null;
  const sorted = Float64Array.from(lagsMs).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}
