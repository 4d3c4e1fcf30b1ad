#!/usr/bin/env node
// `npm start`: build the platform app and run it, forwarding signals so Ctrl-C shuts it down cleanly.
import { execFileSync, spawn } from 'node:child_process';

execFileSync(process.execPath, ['tools/scripts/build-app.mjs', 'apps/platform'], {
  stdio: 'inherit',
});
const child = spawn(
  process.execPath,
  ['--enable-source-maps', 'dist/apps/platform/main.js', ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
