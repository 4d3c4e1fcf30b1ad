import type {
  CellFailover,
  CellFailoverResult,
  FailoverRequest,
  UnplannedFailoverRequest,
} from '@cellpay/cell-failover';

import type { DrillOperation, DrillOperationResult } from './drill-operation';

export function failoverFacts(result: CellFailoverResult): DrillOperationResult['facts'] {
  return {
    'engine write unavailability (ms)': result.engine.writeUnavailableMs,
    'slots frozen (ms)': result.frozenMs,
    'new primary': result.engine.to,
    'promoted at GTID': result.engine.promotedAtPosition,
    'semi-sync established': result.engine.semiSyncEstablished,
    ...(result.engine.unacknowledgedTail === null
      ? {}
      : {
          'unacknowledged tail left on the old primary': `${result.engine.unacknowledgedTail.transactionCount} transaction(s), ${result.engine.unacknowledgedTail.gtidRanges}`,
        }),
    'routing epoch': `${result.epochBefore} -> ${result.epochAfter}`,
    'topology version': `${result.topologyBefore.version} -> ${result.topologyAfter.version}`,
    ...(result.rejoin === null
      ? {}
      : {
          'old primary on return':
            result.rejoin.outcome === 'diverged'
              ? `diverged (stays fenced, needs a rebuild): ${result.rejoin.errantTransactions}`
              : result.rejoin.outcome,
          'old primary fenced within (ms)': result.rejoin.fencedWithinMs,
        }),
  };
}

/** A planned failover (or failback) as a drill operation. */
export function plannedFailoverOperation(
  failover: CellFailover,
  request: FailoverRequest,
  onResult: (result: CellFailoverResult) => void = () => undefined,
): DrillOperation {
  return {
    name: `planned failover ${request.cellId} -> ${request.toRegion}`,
    run: async () => {
      const result = await failover.planned(request);
      onResult(result);
      return { steps: result.steps, facts: failoverFacts(result) };
    },
  };
}

/**
 * An unplanned failover as a drill operation: the monitor starts, `killPrimary` runs once it has
 * seen the primary alive, and `restartOldPrimary` once the new primary is writable, so the
 * returning server is fenced and rejoined inside the drill.
 */
export function unplannedFailoverOperation(
  failover: CellFailover,
  request: Omit<UnplannedFailoverRequest, 'onWatching' | 'onPromoted'>,
  chaos: { killPrimary(): Promise<void>; restartOldPrimary(): Promise<void> },
  onResult: (result: CellFailoverResult) => void = () => undefined,
): DrillOperation {
  return {
    name: `unplanned failover ${request.cellId} -> ${request.toRegion} (kill -9 of the primary)`,
    run: async () => {
      let killing: Promise<void> = Promise.resolve();
      let restarting: Promise<void> = Promise.resolve();
      const result = await failover.unplanned({
        ...request,
        onWatching: () => {
          killing = chaos.killPrimary();
        },
        onPromoted: () => {
          restarting = chaos.restartOldPrimary();
        },
      });
      await killing;
      await restarting;
      onResult(result);
      return { steps: result.steps, facts: failoverFacts(result) };
    },
  };
}
