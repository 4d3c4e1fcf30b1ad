import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The architecture is enforced, not just drawn: these imports must be refused by lint. The text is
 * linted as if it stood in an existing file of the project, so nothing is written to the tree.
 */
describe('module boundaries', () => {
  const root = join(__dirname, '..', '..');
  const env = { ...process.env, NX_DAEMON: 'false' };

  beforeAll(() => {
    // The boundary rule reads the Nx project graph; compute it as `npm run lint` does.
    execFileSync('npx', ['nx', 'show', 'projects'], {
      cwd: root,
      stdio: 'ignore',
      env,
    });
  });

  function boundaryErrors(filePath: string, code: string): string[] {
    // ESLint runs as its own process: its config loader cannot run inside jest's module sandbox.
    const run = spawnSync(
      'npx',
      ['eslint', '--format', 'json', '--stdin', '--stdin-filename', join(root, filePath)],
      { cwd: root, env, input: code, encoding: 'utf8' },
    );
    const [result] = JSON.parse(run.stdout) as {
      messages: { ruleId: string; message: string }[];
    }[];
    return (result?.messages ?? [])
      .filter((message) => message.ruleId === '@nx/enforce-module-boundaries')
      .map((message) => message.message);
  }

  it.each([
    [
      'gateway code importing cell code',
      'libs/gateway/edge/src/index.ts',
      '@cellpay/cell-domain',
      /scope:gateway/,
    ],
    [
      'cell code importing gateway code',
      'libs/cell/payment/src/index.ts',
      '@cellpay/gateway-edge',
      /scope:cell/,
    ],
    [
      'a domain library importing data access',
      'libs/cell/domain/src/index.ts',
      // A data-access library that does not itself depend on the cell domain: importing the cell's
      // own data access would be reported as a dependency cycle before the type rule.
      '@cellpay/connections',
      /type:domain/,
    ],
    [
      'production code importing test helpers',
      'libs/cell/account/src/index.ts',
      '@cellpay/testing',
      /type:feature/,
    ],
  ])(
    'refuses %s',
    async (_case, filePath, importPath, message) => {
      const errors = boundaryErrors(filePath, `export * from '${importPath}';\n`);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
    },
    60_000,
  );

  it('allows an import that respects scope and type', () => {
    expect(
      boundaryErrors('libs/cell/payment/src/index.ts', "export * from '@cellpay/cell-domain';\n"),
    ).toEqual([]);
  }, 60_000);
});
