#!/usr/bin/env node
// Creates (or refreshes) the Nx project files of one app or library, so every project carries the
// same targets and its scope/type tags, and registers a library's import path in tsconfig.base.json.
// Usage: node tools/scripts/new-project.mjs <app|lib> <root> <scope> <type> [importPath]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [kind, root, scope, type, importPath] = process.argv.slice(2);
if (!['app', 'lib'].includes(kind) || !root || !scope || !type || (kind === 'lib' && !importPath)) {
  console.error('usage: new-project.mjs <app|lib> <root> <scope> <type> [importPath]');
  process.exit(2);
}
const name = root.replace(/^(apps|libs)\//, '').replaceAll('/', '-');
const up = relative(root, '.') || '.';
mkdirSync(join(root, 'src'), { recursive: true });

const targets = {
  typecheck: {},
  lint: {},
  test: {},
  integration: {},
};
if (kind === 'app') targets.build = {};
writeFileSync(
  join(root, 'project.json'),
  JSON.stringify(
    {
      name,
      $schema: `${up}/node_modules/nx/schemas/project-schema.json`,
      projectType: kind === 'app' ? 'application' : 'library',
      sourceRoot: `${root}/src`,
      tags: [`scope:${scope}`, `type:${type}`],
      targets,
    },
    null,
    2,
  ) + '\n',
);
writeFileSync(
  join(root, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: `${up}/tsconfig.base.json`,
      compilerOptions: { types: ['node', 'jest'] },
      include: ['src/**/*.ts'],
    },
    null,
    2,
  ) + '\n',
);
if (kind === 'lib') {
  const base = JSON.parse(readFileSync('tsconfig.base.json', 'utf8'));
  base.compilerOptions.paths[importPath] = [`${root}/src/index.ts`];
  base.compilerOptions.paths = Object.fromEntries(
    Object.entries(base.compilerOptions.paths).sort(([a], [b]) => a.localeCompare(b)),
  );
  writeFileSync('tsconfig.base.json', JSON.stringify(base, null, 2) + '\n');
}
// Written JSON is formatted the way the rest of the repository is, so format:check stays green.
execFileSync(
  join('node_modules', '.bin', 'prettier'),
  ['--write', 'tsconfig.base.json', join(root, 'project.json'), join(root, 'tsconfig.json')],
  { stdio: 'ignore' },
);
if (!existsSync(join(root, 'src', kind === 'lib' ? 'index.ts' : 'main.ts'))) {
  console.log(`created ${root} (no source yet)`);
}
