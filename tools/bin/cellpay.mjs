#!/usr/bin/env node
// `npx cellpay ...` / `npm run cellpay -- ...`: runs the built merchant CLI (SDK), building it first
// when the build is missing or older than the sources it comes from.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'dist', 'apps', 'cellpay', 'main.js');

function newestSourceMs(directory) {
  let newest = 0;
  for (const name of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, name.name);
    if (name.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (name.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const stale =
  !existsSync(entry) ||
  statSync(entry).mtimeMs <
    Math.max(newestSourceMs(join(root, 'apps')), newestSourceMs(join(root, 'libs')));
if (stale) {
  execFileSync(
    process.execPath,
    [join(root, 'tools', 'scripts', 'build-app.mjs'), 'apps/cellpay'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}
const result = spawnSync(process.execPath, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
