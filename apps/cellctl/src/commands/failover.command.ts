import type { Command } from 'commander';

import {
  CellFailover,
  setCellSlotsState,
  type CellFailoverResult,
  type CellOperationContext,
} from '@cellpay/cell-failover';
import { AuditLog, RoutingStore, TopologyStore } from '@cellpay/global-data-access';

import type { CommandRunner, Session } from '../cellctl';
import { slotRanges } from '../terminal';
import { resolveShardAccess } from './shard-access';

const cellIdPattern = /^cell-[0-9]{1,4}$/;
/** Bounds of the unplanned command's waits, in seconds. */
export const unplannedWaitSecondsMax = 3_600;

export function cellOperationContext(
  session: Session,
  local: boolean,
  env: NodeJS.ProcessEnv,
): CellOperationContext {
  const access = resolveShardAccess(local, env);
  const { context, terminal } = session;
  return {
    routing: new RoutingStore(context.globalPool()),
    topology: new TopologyStore(context.globalPool()),
    redis: context.redisClient(),
    redisPrefix: context.settings.redisPrefix,
    shardAdmin: access.admin,
    replication: access.replication,
    actor: context.settings.actor,
    progress: (line) => terminal.out(line),
  };
}

export function failoverSummary(result: CellFailoverResult): string[] {
  return [
    `${result.kind} failover of ${result.cellId}: ${result.fromRegion} -> ${result.toRegion} done`,
    `  write unavailability (engine): ${result.engine.writeUnavailableMs} ms; slots frozen ${result.frozenMs} ms`,
    `  promoted at GTID ${result.engine.promotedAtPosition}; semi-sync ${result.engine.semiSyncEstablished ? 'established' : 'not yet (no replica)'}`,
    `  routing epoch ${result.epochBefore} -> ${result.epochAfter}; topology version ${result.topologyBefore.version} -> ${result.topologyAfter.version}`,
    ...(result.engine.unacknowledgedTail === null
      ? []
      : [
          `  left behind, never acknowledged: ${result.engine.unacknowledgedTail.transactionCount} transaction(s) ${result.engine.unacknowledgedTail.gtidRanges}`,
        ]),
    ...(result.rejoin === null
      ? result.kind === 'unplanned'
        ? ['  old primary: not waited for; it starts read-only and must be rejoined before use']
        : []
      : [
          `  old primary ${result.rejoin.node}: ${result.rejoin.outcome}, fenced ${result.rejoin.fencedWithinMs} ms after it answered` +
            (result.rejoin.outcome === 'diverged'
              ? `; holds ${result.rejoin.errantTransactions}: stays read-only, needs a rebuild`
              : ''),
        ]),
  ];
}

export async function auditFailover(session: Session, result: CellFailoverResult): Promise<void> {
  await new AuditLog(session.context.globalPool()).record({
    actor: session.context.settings.actor,
    action: `cell.failover.${result.kind}`,
    subject: result.cellId,
    before: { primaryRegion: result.fromRegion, epoch: result.epochBefore.toString() },
    after: {
      primaryRegion: result.toRegion,
      epoch: result.epochAfter.toString(),
      writeUnavailableMs: result.engine.writeUnavailableMs,
      promotedAtPosition: result.engine.promotedAtPosition,
      rejoin: result.rejoin?.outcome ?? null,
    },
  });
}

function checkCell(cell: string): void {
  if (!cellIdPattern.test(cell)) throw new Error(`a cell is named cell-N, got '${cell}'`);
}

function seconds(value: string, name: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > unplannedWaitSecondsMax) {
    throw new Error(`${name} takes whole seconds within 0..${unplannedWaitSecondsMax}`);
  }
  return parsed;
}

export function registerFailoverCommands(
  program: Command,
  run: CommandRunner,
  env: NodeJS.ProcessEnv,
): void {
  program
    .command('failover <cell>')
    .description(
      "move a cell's primary to another region (planned; failback is the same command back), " +
        'or with --unplanned wait for the primary to die, then promote and fence',
    )
    .requiredOption('--to <region>', 'the region whose node becomes the primary')
    .option('--unplanned', 'watch the primary; once it is dead, check, promote, fence')
    .option('--detect-timeout <s>', 'unplanned: how long to watch for the death', '300')
    .option('--await-return <s>', 'unplanned: how long to wait for the old primary to return', '0')
    .option('--force', 'unplanned: promote even if the replica may miss acknowledged data')
    .option('--yes', 'do not ask for confirmation')
    .action(
      (
        cell: string,
        options: {
          to: string;
          unplanned?: boolean;
          detectTimeout: string;
          awaitReturn: string;
          force?: boolean;
          yes?: boolean;
        },
        command: Command,
      ) =>
        run(async (session) => {
          checkCell(cell);
          const local = command.optsWithGlobals<{ local?: boolean }>().local === true;
          const question = options.unplanned
            ? `Watch ${cell}'s primary and, once it is dead, promote its node in ${options.to}?`
            : `Fail ${cell} over to ${options.to}? Its slots are frozen until the new primary takes writes.`;
          if (!(await session.confirm(options.yes, question))) return;
          const failover = new CellFailover(cellOperationContext(session, local, env));
          const result = options.unplanned
            ? await failover.unplanned({
                cellId: cell,
                toRegion: options.to,
                detectMsMax: seconds(options.detectTimeout, '--detect-timeout') * 1_000,
                returnWaitMs: seconds(options.awaitReturn, '--await-return') * 1_000,
                force: options.force === true,
              })
            : await failover.planned({ cellId: cell, toRegion: options.to });
          await auditFailover(session, result);
          for (const line of failoverSummary(result)) session.terminal.out(line);
        }),
    );

  for (const [name, state] of [
    ['drain', 'frozen'],
    ['undrain', 'active'],
  ] as const) {
    program
      .command(`${name} <cell>`)
      .description(
        state === 'frozen'
          ? 'freeze every slot of a cell (clients get a retryable status)'
          : 'unfreeze every slot of a cell',
      )
      .option('--yes', 'do not ask for confirmation')
      .action((cell: string, options: { yes?: boolean }) =>
        run(async ({ context, terminal, confirm }) => {
          checkCell(cell);
          if (!(await confirm(options.yes, `${name} ${cell}?`))) return;
          const { table, slots } = await setCellSlotsState(
            new RoutingStore(context.globalPool()),
            context.redisClient(),
            context.settings.redisPrefix,
            cell,
            state,
            context.settings.actor,
          );
          terminal.out(
            `${cell}: ${slots.length} slot(s) ${state} (${slotRanges(slots) || 'none'}), epoch ${table.epoch}`,
          );
        }),
      );
  }
}
