import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { infraStateDir } from '../../libs/shared/config/src/infra-endpoints';
import { runInfra } from './infra-cli';

/**
 * Brings the real infrastructure up before the integration suites (a no-op for what already runs)
 * and remembers which services it started, so the teardown stops those and nothing else.
 */
export default function integrationGlobalSetup(): void {
  const stateDir = infraStateDir();
  mkdirSync(stateDir, { recursive: true });
  const startedFile = join(stateDir, `started-by-jest-${process.pid}.txt`);
  runInfra(['up', '--started-file', startedFile]);
  process.env['CELLPAY_INFRA_STARTED_FILE'] = startedFile;
}
