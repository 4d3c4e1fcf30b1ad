import { readFileSync } from 'node:fs';

import type { Command } from 'commander';
import { parse } from 'yaml';

import { readInfraEndpoints } from '@cellpay/config';
import {
  publishTopology,
  topologyRedisKeys,
  TopologyStore,
  validateTopology,
  type CellTopology,
} from '@cellpay/global-data-access';

import type { CommandRunner } from '../cellctl';
import { table } from '../terminal';

interface TopologyFileCell {
  id?: unknown;
  homeRegion?: unknown;
  standbyRegion?: unknown;
  primaryRegion?: unknown;
  nodes?: unknown;
}

/** Reads a topology file (YAML, see deploy/local/topology.yaml) into validated cells. */
export function parseTopologyFile(text: string): CellTopology[] {
  const document = parse(text) as { cells?: unknown } | null;
  if (document === null || !Array.isArray(document.cells)) {
    throw new Error('a topology file has a top-level `cells:` list');
  }
  const cells = (document.cells as TopologyFileCell[]).map((cell) => ({
    cellId: String(cell.id),
    homeRegion: String(cell.homeRegion),
    standbyRegion: String(cell.standbyRegion),
    primaryRegion: String(cell.primaryRegion ?? cell.homeRegion),
    nodes: (Array.isArray(cell.nodes) ? (cell.nodes as Record<string, unknown>[]) : []).map(
      (node) => ({
        region: String(node['region']),
        host: String(node['host']),
        port: Number(node['port']),
      }),
    ),
  }));
  validateTopology(cells);
  return cells;
}

/** The topology of what tools/infra started: primaries in region-a, replicas in region-b. */
export function localInfraTopology(): CellTopology[] {
  const infra = readInfraEndpoints();
  return infra.cells.map((cell) => ({
    cellId: cell.id,
    homeRegion: 'region-a',
    standbyRegion: 'region-b',
    primaryRegion: 'region-a',
    nodes: [
      { region: 'region-a', host: infra.mysql.host, port: cell.primary.port },
      { region: 'region-b', host: infra.mysql.host, port: cell.replica.port },
    ],
  }));
}

export function topologyRows(cells: readonly CellTopology[]): string[][] {
  return cells.flatMap((cell) =>
    cell.nodes.map((node) => [
      cell.cellId,
      node.region,
      `${node.host}:${node.port}`,
      node.region === cell.primaryRegion ? 'primary' : 'replica',
      node.region === cell.homeRegion
        ? 'home'
        : node.region === cell.standbyRegion
          ? 'standby'
          : '-',
    ]),
  );
}

export function registerTopologyCommands(program: Command, run: CommandRunner): void {
  const topology = program
    .command('topology')
    .description('the shard topology: cells, regions, nodes, primaries');
  topology
    .command('show', { isDefault: true })
    .description('every cell node with its region and role')
    .option('--json', 'print the topology as JSON')
    .action((options: { json?: boolean }) =>
      run(async ({ context, terminal }) => {
        const store = new TopologyStore(context.globalPool());
        await store.migrate();
        const document = await store.load();
        if (document === undefined) throw new Error('no topology yet (cellctl topology load)');
        if (options.json === true) {
          terminal.out(
            JSON.stringify({ ...document.value, version: document.version.toString() }, null, 2),
          );
          return;
        }
        terminal.out(`version ${document.version}`);
        terminal.out(
          table(
            ['cell', 'region', 'node', 'role', 'region role'],
            topologyRows(document.value.cells),
          ),
        );
      }),
    );
  topology
    .command('load [file]')
    .description('replace the topology with a file (YAML), or with what tools/infra started')
    .option('--from-local-infra', 'build it from tools/infra endpoints (region-a / region-b)')
    .option('--yes', 'do not ask for confirmation')
    .action((file: string | undefined, options: { fromLocalInfra?: boolean; yes?: boolean }) =>
      run(async ({ context, terminal, confirm }) => {
        if ((file === undefined) === (options.fromLocalInfra !== true)) {
          throw new Error('give a topology file or --from-local-infra (one of them)');
        }
        const cells =
          file === undefined ? localInfraTopology() : parseTopologyFile(readFileSync(file, 'utf8'));
        terminal.out(table(['cell', 'region', 'node', 'role', 'region role'], topologyRows(cells)));
        if (!(await confirm(options.yes, 'Replace the shard topology with this?'))) return;
        const store = new TopologyStore(context.globalPool());
        await store.migrate();
        const loaded = await store.replace(cells, {
          actor: context.settings.actor,
          action: 'topology.load',
          subject: file ?? 'local-infra',
        });
        await publishTopology(
          context.redisClient(),
          topologyRedisKeys(context.settings.redisPrefix),
          loaded,
        );
        terminal.out(`topology loaded at version ${loaded.version}`);
      }),
    );
}
