import {
  deserializeTopology,
  primaryNodeOf,
  serializeTopology,
  validateTopology,
  withPrimary,
  type CellTopology,
} from './topology';

const nodeA = { region: 'region-a', host: '127.0.0.1', port: 3411 };
const nodeB = { region: 'region-b', host: '127.0.0.1', port: 3412 };
const cell: CellTopology = {
  cellId: 'cell-1',
  homeRegion: 'region-a',
  standbyRegion: 'region-b',
  primaryRegion: 'region-a',
  nodes: [nodeA, nodeB],
};

describe('shard topology', () => {
  it('accepts a cell with a node per region and names its primary', () => {
    expect(() => validateTopology([cell])).not.toThrow();
    expect(primaryNodeOf(cell)).toEqual({ region: 'region-a', host: '127.0.0.1', port: 3411 });
  });

  it.each([
    ['no cells', [], /no cells/],
    ['a cell twice', [cell, cell], /appears twice/],
    ['a bad cell id', [{ ...cell, cellId: 'c1' }], /bad cell id/],
    ['a primary without a node', [{ ...cell, primaryRegion: 'region-c' }], /primary region/],
    ['two nodes in one region', [{ ...cell, nodes: [nodeA, nodeA] }], /two nodes/],
    ['home equal to standby', [{ ...cell, standbyRegion: 'region-a' }], /home and standby/],
    ['a bad port', [{ ...cell, nodes: [{ ...nodeA, port: 0 }, nodeB] }], /bad port/],
  ])('refuses %s', (_name, cells, message) => {
    expect(() => validateTopology(cells as CellTopology[])).toThrow(message);
  });

  it('moves a primary only to a region that has a node', () => {
    expect(withPrimary([cell], 'cell-1', 'region-b')[0]?.primaryRegion).toBe('region-b');
    expect(() => withPrimary([cell], 'cell-1', 'region-c')).toThrow(/primary region/);
    expect(() => withPrimary([cell], 'cell-9', 'region-b')).toThrow(/unknown cell/);
  });

  it('round-trips through its cache form and refuses a corrupted one', () => {
    const topology = { version: 7n, cells: [cell] };
    expect(deserializeTopology(serializeTopology(topology))).toEqual(topology);
    const corrupted = serializeTopology({ version: 8n, cells: [{ ...cell, nodes: [] }] });
    expect(() => deserializeTopology(corrupted)).toThrow(/needs 1..8 nodes/);
  });
});
