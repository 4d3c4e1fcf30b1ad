import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseTopologyFile, topologyRows } from './topology.command';

describe('topology files', () => {
  it('reads deploy/local/topology.yaml: three cells, primaries in region-a', () => {
    const path = join(__dirname, '..', '..', '..', '..', 'deploy', 'local', 'topology.yaml');
    const cells = parseTopologyFile(readFileSync(path, 'utf8'));
    expect(cells.map((cell) => cell.cellId)).toEqual(['cell-1', 'cell-2', 'cell-3']);
    expect(topologyRows(cells)[0]).toEqual([
      'cell-1',
      'region-a',
      '127.0.0.1:3411',
      'primary',
      'home',
    ]);
    expect(topologyRows(cells)[1]).toEqual([
      'cell-1',
      'region-b',
      '127.0.0.1:3412',
      'replica',
      'standby',
    ]);
  });

  it('refuses a file without cells or with a primary in a region that has no node', () => {
    expect(() => parseTopologyFile('regions: [a]\n')).toThrow(/top-level `cells:` list/);
    expect(() =>
      parseTopologyFile(
        [
          'cells:',
          '  - id: cell-1',
          '    homeRegion: region-a',
          '    standbyRegion: region-b',
          '    primaryRegion: region-c',
          '    nodes:',
          '      - { region: region-a, host: 127.0.0.1, port: 3411 }',
          '      - { region: region-b, host: 127.0.0.1, port: 3412 }',
        ].join('\n'),
      ),
    ).toThrow(/primary region region-c has no node/);
  });
});
