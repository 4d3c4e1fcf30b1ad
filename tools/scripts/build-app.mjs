#!/usr/bin/env node
// Compiles one app (and the libraries it imports through @cellpay/* paths) with tsc into
// dist/<app root>/, then rewrites the path aliases to relative requires with tsc-alias, so the
// output runs on plain `node` without a runtime resolver.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.argv[2];
if (!root || !existsSync(join(root, 'src', 'main.ts'))) {
  console.error(`build-app: ${root ?? '(none)'} has no src/main.ts`);
  process.exit(2);
}
const outDir = join('dist', root);
rmSync(outDir, { recursive: true, force: true });
mkdirSync('tmp', { recursive: true });
const config = join('tmp', `tsconfig.build.${root.replaceAll('/', '-')}.json`);
writeFileSync(
  config,
  JSON.stringify({
    extends: relative('tmp', 'tsconfig.base.json'),
    compilerOptions: { outDir: relative('tmp', outDir), rootDir: '..', noEmit: false },
    files: [relative('tmp', join(root, 'src', 'main.ts'))],
  }),
);
const bin = (name) => join('node_modules', '.bin', name);
execFileSync(bin('tsc'), ['-p', config], { stdio: 'inherit' });
execFileSync(bin('tsc-alias'), ['-p', config], { stdio: 'inherit' });
// The .proto sources are loaded at run time (gRPC servers, reflection); ship them next to the code.
const protoSources = join('libs', 'shared', 'proto', 'proto');
if (existsSync(join(outDir, 'libs', 'shared', 'proto'))) {
  cpSync(protoSources, join(outDir, protoSources), { recursive: true });
}
// A stable entry point at dist/<app root>/main.js, whatever the layout of the compiled tree.
const entry = join(outDir, 'main.js');
writeFileSync(entry, `require('./${root}/src/main.js');\n`);
console.log(`built ${root} -> ${entry}`);
