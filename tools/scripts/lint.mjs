#!/usr/bin/env node
// Lints the whole repository in one ESLint run with zero warnings allowed. The Nx project graph is
// computed first: without it @nx/enforce-module-boundaries skips itself with only a warning, and a
// gateway -> cell import would pass unnoticed.
import { execFileSync } from 'node:child_process';

const env = { ...process.env, NX_DAEMON: 'false' };
try {
  execFileSync('npx', ['nx', 'show', 'projects'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('npx', ['eslint', '.', '--max-warnings', '0', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env,
  });
} catch (error) {
  process.exit(typeof error.status === 'number' ? error.status : 1);
}
