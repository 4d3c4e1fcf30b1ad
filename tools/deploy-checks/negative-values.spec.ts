// Values the chart must refuse. Each file in negative-values/ is rendered on top of the shared cell
// map and region-a's values; its `# expect:` line is a pattern the error must match, so a case that
// renders, or fails for another reason, fails the test. `# helm-args:` adds helm flags.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  cellsValuesFile,
  type DeployTools,
  helmTemplate,
  installDeployTools,
  negativeValuesDir,
  readText,
  regionsDir,
  toolsInstallTimeoutMs,
} from './deploy-checks.helper';

interface NegativeCase {
  name: string;
  file: string;
  expected: RegExp;
  helmArguments: string[];
}

function negativeCases(): NegativeCase[] {
  return readdirSync(negativeValuesDir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const text = readText(join(negativeValuesDir, file));
      const expected = /^# expect: (.+)$/m.exec(text)?.[1];
      if (!expected) {
        throw new Error(`${file} has no "# expect:" line`);
      }
      const helmArguments = /^# helm-args: (.+)$/m.exec(text)?.[1]?.split(' ') ?? [];
      return {
        name: file.replace(/\.yaml$/, ''),
        file: join(negativeValuesDir, file),
        expected: new RegExp(expected),
        helmArguments,
      };
    });
}

let tools: DeployTools;

beforeAll(() => {
  tools = installDeployTools();
}, toolsInstallTimeoutMs);

describe('values the chart refuses', () => {
  const cases = negativeCases();

  it('has at least ten cases, covering the schema and the fail guards', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  it('renders the base values the cases build on', () => {
    const result = helmTemplate(tools, [
      '-f',
      cellsValuesFile,
      '-f',
      join(regionsDir, 'region-a.yaml'),
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(cases)('$name is rejected with its message', ({ file, expected, helmArguments }) => {
    const result = helmTemplate(tools, [
      '-f',
      cellsValuesFile,
      '-f',
      join(regionsDir, 'region-a.yaml'),
      '-f',
      file,
      ...helmArguments,
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(expected);
  });
});
