import type { Command } from 'commander';

import { applyMigrations } from '@cellpay/connections';
import {
  globalMigrations,
  publishRoutingTable,
  routingRedisKeys,
  RoutingStore,
} from '@cellpay/global-data-access';
import { evenlySpreadSnapshot, RoutingTable, type CellRoute } from '@cellpay/routing';

import type { CommandRunner } from '../cellctl';
import { slotRanges, table } from '../terminal';

const cellSpecPattern = /^(cell-[0-9]{1,3}):([a-z0-9-]{1,64}):([a-z0-9-]{1,64})$/;

function parseCells(spec: string): CellRoute[] {
  return spec.split(',').map((item) => {
    const match = cellSpecPattern.exec(item.trim());
    if (match === null) {
      throw new Error(
        `--cells takes cell-N:home-region:standby-region, comma separated; got '${item}'`,
      );
    }
    const [, cellId = '', homeRegion = '', standbyRegion = ''] = match;
    return { cellId, homeRegion, standbyRegion, activeRegion: homeRegion, state: 'active' };
  });
}

export function routesSummary(routing: RoutingTable): { headers: string[]; rows: string[][] } {
  return {
    headers: ['cell', 'state', 'home', 'standby', 'active', 'slots', 'frozen'],
    rows: routing.cells.map((cell) => {
      const slots = routing.slotsOf(cell.cellId);
      const frozen = routing.snapshot.slots.filter(
        (s) => s.cellId === cell.cellId && s.state === 'frozen',
      );
      return [
        cell.cellId,
        cell.state,
        cell.homeRegion,
        cell.standbyRegion,
        cell.activeRegion,
        `${slots.length}: ${slotRanges(slots)}`,
        slotRanges(frozen.map((s) => s.slot)) || '-',
      ];
    }),
  };
}

export function registerGlobalCommands(program: Command, run: CommandRunner): void {
  program
    .command('migrate-global')
    .description('apply the global-zone schema migrations')
    .action(() =>
      run(async ({ context, terminal }) => {
        const report = await applyMigrations(
          context.globalPool(),
          globalMigrations,
          'cellpay-global',
        );
        terminal.out(
          `applied: ${report.applied.join(',') || 'none'}; already: ${report.alreadyApplied.join(',') || 'none'}`,
        );
      }),
    );

  const routes = program
    .command('routes')
    .description('the routing table: slots, cells, overrides');
  routes
    .command('show', { isDefault: true })
    .description('show the slot map by cell, the overrides and the epoch')
    .option('--json', 'print the snapshot as JSON')
    .action((options: { json?: boolean }) =>
      run(async ({ context, terminal }) => {
        const snapshot = await new RoutingStore(context.globalPool()).loadSnapshot();
        if (snapshot === undefined)
          throw new Error('the routing table is not initialised (cellctl routes init)');
        const routing = new RoutingTable(snapshot);
        if (options.json === true) {
          terminal.out(JSON.stringify({ ...snapshot, epoch: snapshot.epoch.toString() }, null, 2));
          return;
        }
        terminal.out(`epoch ${routing.epoch}, ${routing.slotCount} slots`);
        const summary = routesSummary(routing);
        terminal.out(table(summary.headers, summary.rows));
        if (snapshot.overrides.length > 0) {
          terminal.out('');
          terminal.out(
            table(
              ['user', 'pinned to'],
              snapshot.overrides.map((o) => [o.userId, o.cellId]),
            ),
          );
        }
      }),
    );
  routes
    .command('init')
    .description('write the first routing table: slots spread evenly over the cells')
    .requiredOption('--cells <spec>', 'cell-N:home-region:standby-region, comma separated')
    .option('--slot-count <n>', 'slots of this installation (fixed forever)', '100')
    .option('--yes', 'do not ask for confirmation')
    .action((options: { cells: string; slotCount: string; yes?: boolean }) =>
      run(async ({ context, terminal, confirm }) => {
        const slotCount = Number(options.slotCount);
        if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > 65_535) {
          throw new Error('--slot-count must be an integer from 1 to 65535');
        }
        const snapshot = evenlySpreadSnapshot(parseCells(options.cells), slotCount);
        const preview = routesSummary(new RoutingTable(snapshot));
        terminal.out(table(preview.headers, preview.rows));
        if (!(await confirm(options.yes, 'Write this routing table?'))) return;
        const routing = await new RoutingStore(context.globalPool()).initialize(
          snapshot,
          context.settings.actor,
        );
        await publishRoutingTable(
          context.redisClient(),
          routingRedisKeys(context.settings.redisPrefix),
          routing,
        );
        terminal.out(`routing table written at epoch ${routing.epoch}`);
      }),
    );
}
