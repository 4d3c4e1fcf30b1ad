#!/usr/bin/env node
// Lints the whole repository in one ESLint run with zero warnings allowed. The Nx project graph is
// computed first: without it @nx/enforce-module-boundaries skips itself with only a warning, and a
// gateway -> cell import would pass unnoticed.
import { execFileSync } from 'node:child_process';

// Typed linting (the TypeScript project service over every file) needs more than node's default
// heap (about 4 GB here) now that the repository has grown: the run died of it in CI.
const heapMb = 8192;
const env = {
  ...process.env,
  NX_DAEMON: 'false',
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${heapMb}`.trim(),
};
try {
  execFileSync('npx', ['nx', 'show', 'projects'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('npx', ['eslint', '.', '--max-warnings', '0', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env,
  });
} catch (error) {
  process.exit(typeof error.status === 'number' ? error.status : 1);
}
