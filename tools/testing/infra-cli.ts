import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const infraScript = join(__dirname, '..', 'infra', 'infra.sh');

/** Runs tools/infra/infra.sh with the given arguments; its progress goes to the test output. */
export function runInfra(args: readonly string[]): void {
  execFileSync('bash', [infraScript, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
}
