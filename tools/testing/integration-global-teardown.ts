import { existsSync, rmSync } from 'node:fs';

import { runInfra } from './infra-cli';

/** Stops only the services the global setup started; CELLPAY_KEEP_INFRA=1 keeps them running. */
export default function integrationGlobalTeardown(): void {
  const startedFile = process.env['CELLPAY_INFRA_STARTED_FILE'];
  if (startedFile === undefined || !existsSync(startedFile)) return;
  if (process.env['CELLPAY_KEEP_INFRA'] !== '1') {
    runInfra(['down', '--only-file', startedFile]);
  }
  rmSync(startedFile, { force: true });
}
