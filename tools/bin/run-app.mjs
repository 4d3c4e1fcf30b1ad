// Runs a built app of this repository (dist/apps/<app>/main.js) with the caller's arguments,
// building it first when the build is missing or older than the sources it comes from. The `bin`
// entries (`npx cellctl`, `npx cellpay`) are two lines on top of this.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestSourceMs(directory) {
  let newest = 0;
  for (const name of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, name.name);
    if (name.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (name.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export function runApp(app, args) {
  const entry = join(root, 'dist', 'apps', app, 'main.js');
  const stale =
    !existsSync(entry) ||
    statSync(entry).mtimeMs <
      Math.max(newestSourceMs(join(root, 'apps')), newestSourceMs(join(root, 'libs')));
  if (stale) {
    execFileSync(
      process.execPath,
      [join(root, 'tools', 'scripts', 'build-app.mjs'), `apps/${app}`],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  }
  const result = spawnSync(process.execPath, [entry, ...args], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
