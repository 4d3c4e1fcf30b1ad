import { gatewayTargetOn, okStatus, type OperationKind } from '@cellpay/loadgen';

import type { BenchCluster } from './bench-cluster';
import { type RunBounds, type RunResult, runWorkers } from './measure';

export interface GatewayBenchOptions extends RunBounds {
  /** The cells whose users take part (the others idle). */
  readonly cells: readonly string[];
  /** Share (0..1) of payments whose payer lives in another cell than the merchant. */
  readonly crossCellShare: number;
  readonly payers: number;
  readonly seed: number;
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
 */
export async function benchGatewayPayments(
  cluster: BenchCluster,
  options: GatewayBenchOptions,
  log: (line: string) => void,
): Promise<RunResult> {
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
  await target.open({ settlementLag: () => undefined });
  try {
    return await runWorkers(
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
  } finally {
    await target.close();
  }
}
