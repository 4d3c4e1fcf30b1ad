import type { Command } from 'commander';
import type { Pool } from 'mysql2/promise';

import { createMysqlPool, mysqlEndpointOf } from '@cellpay/connections';
import {
  AuditLog,
  publishRoutingTable,
  routingRedisKeys,
  RoutingStore,
} from '@cellpay/global-data-access';
import {
  grpcCellReconciler,
  migrateSlots,
  opsRoutingEpochReader,
  planMigration,
  type MigrationDependencies,
  type MigrationProgress,
  type RoutingEpochReaders,
} from '@cellpay/migration';

import type { CommandRunner } from '../cellctl';
import type { ControlPlaneContext } from '../control-plane-context';
import { table } from '../terminal';

export const slotListPattern = /^\d{1,4}(,\d{1,4})*$/;

interface MigrateOptions {
  to: string;
  yes?: boolean;
  skipReconcile?: boolean;
  skipEpochCheck?: boolean;
}

/** `cell-1=host:port,...` (the gateway's CELLPAY_CELL_ADDRESSES form); a cell may repeat. */
function parseAddressEntries(spec: string, variable: string): (readonly [string, string])[] {
  return spec
    .split(',')
    .filter(Boolean)
    .map((item) => {
      const at = item.indexOf('=');
      if (at <= 0) throw new Error(`${variable}: expected cell-N=value, got '${item}'`);
      return [item.slice(0, at).trim(), item.slice(at + 1).trim()] as const;
    });
}

function parseAddressList(spec: string, variable: string): Map<string, string> {
  return new Map(parseAddressEntries(spec, variable));
}

/**
 * `cell-1=host:port,cell-1=host:port,...`: the ops ports of every process that enforces the
 * routing table for a cell (the cell process and its relay), asked for their epoch on `/routing`.
 */
function opsEpochReaders(spec: string): RoutingEpochReaders {
  const entries = parseAddressEntries(spec, 'CELLPAY_CELL_OPS_ADDRESSES');
  return (cellId) =>
    entries
      .filter(([owner]) => owner === cellId)
      .map(([owner, address]) => opsRoutingEpochReader(owner, address));
}

/** The shards by cell: `--local` or `CELLPAY_CELL_SHARDS`, as every cellctl command reads them. */
export function shardUrls(
  configured: readonly { cellId: string; url: string }[],
): Map<string, string> {
  if (configured.length === 0) {
    throw new Error('set CELLPAY_CELL_SHARDS (cell-1=mysql://...,...) or pass --local');
  }
  return new Map(configured.map((shard) => [shard.cellId, shard.url]));
}

/** One pool per cell's shard, opened on first use and closed with the command. */
export function shardPoolsOf(
  urls: ReadonlyMap<string, string>,
  onClose: (close: () => Promise<void>) => void,
): (cellId: string) => Pool {
  const pools = new Map<string, Pool>();
  onClose(async () => {
    await Promise.all([...pools.values()].map((pool) => pool.end()));
  });
  return (cellId) => {
    const existing = pools.get(cellId);
    if (existing !== undefined) return existing;
    const url = urls.get(cellId);
    if (url === undefined) throw new Error(`no shard endpoint for ${cellId}`);
    const pool = createMysqlPool(mysqlEndpointOf(url, 'CELLPAY_CELL_SHARDS'), {
      connectionsMax: 4,
      queuedRequestsMax: 100,
      connectTimeoutMs: 5_000,
    });
    pools.set(cellId, pool);
    return pool;
  };
}

/**
 * What a migration needs of the control plane: the routing store, publishing each committed table
 * to Redis, the audit log, the shards, (with the cells' addresses) both cells' reconciliation, and
 * (with the ops addresses of the source's processes) the freeze confirmed by each of them.
 */
export function migrationDependenciesOf(
  context: ControlPlaneContext,
  routing: RoutingStore,
  shardPool: (cellId: string) => Pool,
  cellAddresses: string | undefined,
  cellOpsAddresses?: string,
): MigrationDependencies {
  return {
    routing,
    publishRouting: async (routingTable) => {
      await publishRoutingTable(
        context.redisClient(),
        routingRedisKeys(context.settings.redisPrefix),
        routingTable,
      );
    },
    audit: new AuditLog(context.globalPool()),
    shardPool,
    ...(cellAddresses === undefined || cellAddresses === ''
      ? {}
      : {
          reconcile: grpcCellReconciler(parseAddressList(cellAddresses, 'CELLPAY_CELL_ADDRESSES')),
        }),
    ...(cellOpsAddresses === undefined || cellOpsAddresses === ''
      ? {}
      : { routingEpochReaders: opsEpochReaders(cellOpsAddresses) }),
  };
}

/** One progress line of a migration, as both commands print it to stderr. */
export function progressLine(event: MigrationProgress): string {
  return `[${String(event.elapsedMs).padStart(7)} ms] ${event.step} ${event.phase}${event.detail === undefined ? '' : `: ${event.detail}`}`;
}

export function registerMigrateCommands(
  program: Command,
  run: CommandRunner,
  env: NodeJS.ProcessEnv = process.env,
): void {
  program
    .command('migrate-slots')
    .description(
      'move slots to another cell online: copy, catch up, freeze, verify, flip, clean (docs/operations.md)',
    )
    .argument('<slots>', 'comma-separated slot numbers, all owned by one cell')
    .requiredOption('--to <cell>', 'the cell that takes the slots')
    .option('--skip-reconcile', 'do not run the cells’ reconciliation (no cell addresses known)')
    .option(
      '--skip-epoch-check',
      'do not ask the source’s processes for their routing epoch after the freeze (no ops addresses known): wait 1.5 s and trust them',
    )
    .option('--yes', 'do not ask for confirmation')
    .action((slotList: string, options: MigrateOptions) =>
      run(async ({ context, terminal, confirm, onClose }) => {
        if (!slotListPattern.test(slotList)) {
          throw new Error(`slots must be comma-separated numbers, got '${slotList}'`);
        }
        const shardPool = shardPoolsOf(shardUrls(context.settings.cellShardUrls), onClose);
        const addressSpec = env['CELLPAY_CELL_ADDRESSES'];
        if (options.skipReconcile !== true && (addressSpec === undefined || addressSpec === '')) {
          throw new Error(
            'set CELLPAY_CELL_ADDRESSES (cell-1=host:port,...) so both cells can reconcile, or pass --skip-reconcile',
          );
        }
        const opsSpec = env['CELLPAY_CELL_OPS_ADDRESSES'];
        if (options.skipEpochCheck !== true && (opsSpec === undefined || opsSpec === '')) {
          throw new Error(
            'set CELLPAY_CELL_OPS_ADDRESSES (cell-1=host:port,... the ops ports of each cell and its relay) so the freeze can be confirmed, or pass --skip-epoch-check',
          );
        }
        const routing = new RoutingStore(context.globalPool());
        const request = {
          slots: slotList.split(',').map(Number),
          targetCellId: options.to,
          actor: context.settings.actor,
        };
        const plan = await planMigration(request, { routing, shardPool });
        terminal.out(
          `move slots ${plan.slots.join(',')} from ${plan.sourceCellId} to ${plan.targetCellId} (routing epoch ${plan.epoch}, ${plan.migrationId})`,
        );
        terminal.out(
          table(
            ['table', 'rows on the source'],
            Object.entries(plan.sourceRows).map(([name, count]) => [name, String(count)]),
          ),
        );
        if (!(await confirm(options.yes, 'Migrate these slots now?'))) return;
        const stop = new AbortController();
        const interrupt = () => {
          terminal.err('interrupt: aborting before the flip (the source stays authoritative)');
          stop.abort();
        };
        process.once('SIGINT', interrupt);
        onClose(async () => {
          process.removeListener('SIGINT', interrupt);
        });
        const summary = await migrateSlots(plan, request, {
          ...migrationDependenciesOf(
            context,
            routing,
            shardPool,
            options.skipReconcile === true ? undefined : addressSpec,
            options.skipEpochCheck === true ? undefined : opsSpec,
          ),
          onProgress: (event: MigrationProgress) => terminal.err(progressLine(event)),
          signal: stop.signal,
        });
        terminal.out(JSON.stringify(summary, null, 2));
        if (summary.outcome !== 'completed') {
          throw new Error(`migration ${summary.outcome}: ${summary.error?.message ?? ''}`);
        }
      }),
    );
}
