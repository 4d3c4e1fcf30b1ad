import type { Command } from 'commander';

import { RoutingStore } from '@cellpay/global-data-access';
import { RoutingTable } from '@cellpay/routing';

import type { CommandRunner } from '../cellctl';
import {
  type OutboxProbe,
  type Probed,
  probeBreakers,
  probeOutbox,
  probeReplica,
  type ReplicaProbe,
} from '../status/status-probes';
import { slotRanges, table } from '../terminal';

export interface CellStatus {
  readonly cellId: string;
  readonly state: string;
  readonly homeRegion: string;
  readonly standbyRegion: string;
  readonly activeRegion: string;
  readonly slots: number;
  readonly frozenSlots: readonly number[];
  readonly replica: Probed<ReplicaProbe>;
  readonly outbox: Probed<OutboxProbe>;
  readonly breaker: string;
}

export interface PlatformStatus {
  readonly epoch: string;
  readonly slotCount: number;
  readonly overrides: number;
  readonly cells: readonly CellStatus[];
}

const notConfigured = { ok: false, why: 'not configured' } as const;

function show<T>(probed: Probed<T>, render: (value: T) => string): string {
  return probed.ok ? render(probed.value) : `? (${probed.why})`;
}

function render(status: PlatformStatus): string {
  const header =
    `routing epoch ${status.epoch}, ${status.slotCount} slots, ` +
    `${status.overrides} pinned user(s)`;
  const rows = status.cells.map((cell) => [
    cell.cellId,
    cell.state,
    `${cell.activeRegion} (home ${cell.homeRegion}, standby ${cell.standbyRegion})`,
    String(cell.slots),
    slotRanges(cell.frozenSlots) || '-',
    show(cell.replica, (r) =>
      r.replicating ? `${r.secondsBehind ?? '?'} s behind` : 'NOT REPLICATING',
    ),
    show(cell.outbox, (o) =>
      o.depth === 0 ? '0' : `${o.depth} (oldest ${Math.round(o.oldestAgeSeconds * 10) / 10} s)`,
    ),
    cell.breaker,
  ]);
  return [
    header,
    table(
      ['cell', 'state', 'region', 'slots', 'frozen', 'replica', 'unsent events', 'breaker'],
      rows,
    ),
  ].join('\n');
}

export function registerStatusCommand(program: Command, run: CommandRunner): void {
  program
    .command('status')
    .description(
      'cells, regions, states, routing epoch, replication lag, settlement backlog, breakers',
    )
    .option('--json', 'print as JSON')
    .action((options: { json?: boolean }) =>
      run(async ({ context, terminal }) => {
        const snapshot = await new RoutingStore(context.globalPool()).loadSnapshot();
        if (snapshot === undefined) {
          throw new Error('the routing table is not initialised (cellctl routes init)');
        }
        const routing = new RoutingTable(snapshot);
        const { cellShardUrls, cellReplicaUrls, gatewayOpsAddress } = context.settings;
        const nowMs = Date.now();
        // Every probe is bounded and failures are shown, not thrown: status is for bad days.
        const [breakers, ...cells] = await Promise.all([
          gatewayOpsAddress === undefined
            ? Promise.resolve(notConfigured)
            : probeBreakers(gatewayOpsAddress),
          ...routing.cells.map(async (cell): Promise<CellStatus> => {
            const primary = cellShardUrls.find((s) => s.cellId === cell.cellId);
            const replica = cellReplicaUrls.find((s) => s.cellId === cell.cellId);
            const [replicaProbe, outbox] = await Promise.all([
              replica === undefined ? notConfigured : probeReplica(replica.url),
              primary === undefined ? notConfigured : probeOutbox(primary.url, nowMs),
            ]);
            return {
              cellId: cell.cellId,
              state: cell.state,
              homeRegion: cell.homeRegion,
              standbyRegion: cell.standbyRegion,
              activeRegion: cell.activeRegion,
              slots: routing.slotsOf(cell.cellId).length,
              frozenSlots: snapshot.slots
                .filter((s) => s.cellId === cell.cellId && s.state === 'frozen')
                .map((s) => s.slot),
              replica: replicaProbe,
              outbox,
              breaker: 'unknown',
            };
          }),
        ]);
        const status: PlatformStatus = {
          epoch: snapshot.epoch.toString(),
          slotCount: snapshot.slotCount,
          overrides: snapshot.overrides.length,
          cells: cells.map((cell) => ({
            ...cell,
            breaker: breakers.ok
              ? (breakers.value.get(cell.cellId) ?? 'closed (no calls yet)')
              : `? (${breakers.why})`,
          })),
        };
        terminal.out(options.json === true ? JSON.stringify(status, null, 2) : render(status));
      }),
    );
}
