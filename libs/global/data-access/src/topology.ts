/**
 * Where each cell's shard lives: one MySQL server per region, and which of them is the primary.
 * The control plane writes it (`cellctl topology load`, `cellctl failover`); the cell and relay
 * processes follow it to reach the current primary after a failover.
 */
export interface ShardNodeLocation {
  readonly region: string;
  readonly host: string;
  readonly port: number;
}

export interface CellTopology {
  readonly cellId: string;
  readonly homeRegion: string;
  readonly standbyRegion: string;
  /** The region whose node is the writable primary now. */
  readonly primaryRegion: string;
  readonly nodes: readonly ShardNodeLocation[];
}

export interface Topology {
  readonly version: bigint;
  readonly cells: readonly CellTopology[];
}

/** Upper bounds on a topology document: it is read on every change by every cell process. */
export const topologyLimits = {
  cellsMax: 999,
  nodesPerCellMax: 8,
} as const;

const cellIdPattern = /^cell-[0-9]{1,4}$/;
const regionPattern = /^[a-z0-9-]{1,64}$/;
const hostPattern = /^[A-Za-z0-9.-]{1,253}$/;

export class TopologyError extends Error {
  constructor(message: string) {
    super(`topology: ${message}`);
    this.name = 'TopologyError';
  }
}

/**
 * Checks a topology before it is stored or installed: known cell IDs, one node per region, a
 * primary among the nodes, home and standby regions that have nodes. Throws TopologyError.
 */
export function validateTopology(cells: readonly CellTopology[]): void {
  if (cells.length === 0) throw new TopologyError('no cells');
  if (cells.length > topologyLimits.cellsMax) {
    throw new TopologyError(`at most ${topologyLimits.cellsMax} cells`);
  }
  const seen = new Set<string>();
  for (const cell of cells) {
    if (!cellIdPattern.test(cell.cellId)) throw new TopologyError(`bad cell id '${cell.cellId}'`);
    if (seen.has(cell.cellId)) throw new TopologyError(`${cell.cellId} appears twice`);
    seen.add(cell.cellId);
    if (cell.nodes.length === 0 || cell.nodes.length > topologyLimits.nodesPerCellMax) {
      throw new TopologyError(
        `${cell.cellId} needs 1..${topologyLimits.nodesPerCellMax} nodes, has ${cell.nodes.length}`,
      );
    }
    const regions = new Set<string>();
    for (const node of cell.nodes) {
      if (!regionPattern.test(node.region)) {
        throw new TopologyError(`${cell.cellId}: bad region '${node.region}'`);
      }
      if (regions.has(node.region)) {
        throw new TopologyError(`${cell.cellId}: two nodes in ${node.region}`);
      }
      regions.add(node.region);
      if (!hostPattern.test(node.host)) {
        throw new TopologyError(`${cell.cellId}: bad host '${node.host}'`);
      }
      if (!Number.isInteger(node.port) || node.port < 1 || node.port > 65_535) {
        throw new TopologyError(`${cell.cellId}: bad port ${node.port}`);
      }
    }
    for (const [role, region] of [
      ['home', cell.homeRegion],
      ['standby', cell.standbyRegion],
      ['primary', cell.primaryRegion],
    ] as const) {
      if (!regions.has(region)) {
        throw new TopologyError(`${cell.cellId}: ${role} region ${region} has no node`);
      }
    }
    if (cell.homeRegion === cell.standbyRegion) {
      throw new TopologyError(`${cell.cellId}: home and standby are both ${cell.homeRegion}`);
    }
  }
}

export function cellTopologyOf(topology: Topology, cellId: string): CellTopology {
  const cell = topology.cells.find((candidate) => candidate.cellId === cellId);
  if (cell === undefined) throw new TopologyError(`unknown cell ${cellId}`);
  return cell;
}

export function nodeIn(cell: CellTopology, region: string): ShardNodeLocation {
  const node = cell.nodes.find((candidate) => candidate.region === region);
  if (node === undefined) throw new TopologyError(`${cell.cellId} has no node in ${region}`);
  return node;
}

/** The node that takes writes now. */
export function primaryNodeOf(cell: CellTopology): ShardNodeLocation {
  return nodeIn(cell, cell.primaryRegion);
}

/** The same cells with `cellId`'s primary moved to `region` (validated). */
export function withPrimary(
  cells: readonly CellTopology[],
  cellId: string,
  region: string,
): CellTopology[] {
  const moved = cells.map((cell) =>
    cell.cellId === cellId ? { ...cell, primaryRegion: region } : cell,
  );
  if (!cells.some((cell) => cell.cellId === cellId)) {
    throw new TopologyError(`unknown cell ${cellId}`);
  }
  validateTopology(moved);
  return moved;
}

export function serializeTopology(topology: Topology): string {
  return JSON.stringify({ ...topology, version: topology.version.toString() });
}

export function deserializeTopology(json: string): Topology {
  const parsed = JSON.parse(json) as Omit<Topology, 'version'> & { version: string };
  validateTopology(parsed.cells);
  return { cells: parsed.cells, version: BigInt(parsed.version) };
}
