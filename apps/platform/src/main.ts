// `npm start`: the whole platform in one process on the embedded default (in-memory shards, the
// gateway in front), seeded with a demo merchant, a wallet backend and funded demo users. It prints
// the port and copy-paste examples, and shuts down cleanly on Ctrl-C.
import 'reflect-metadata';

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import {
  ConfigError,
  enumSetting,
  integerSetting,
  readConfig,
  stringSetting,
} from '@cellpay/config';
import { createLogger } from '@cellpay/observability';

import { seedDemo } from './demo-seed';
import { demoMerchantId, startEmbeddedPlatform } from './embedded-platform';
import { renderBanner } from './banner';

const platformConfigSchema = {
  CELLPAY_GRPC_PORT: integerSetting({ min: 0, max: 65_535, defaultValue: 50_051 }),
  CELLPAY_GRPC_HOST: stringSetting({ defaultValue: '127.0.0.1' }),
  CELLPAY_CELLS: integerSetting({ min: 1, max: 9, defaultValue: 3 }),
  CELLPAY_SLOT_COUNT: integerSetting({ min: 1, max: 9_999, defaultValue: 100 }),
  CELLPAY_CREDENTIALS_FILE: stringSetting({ defaultValue: 'tmp/cellpay-demo-credentials.json' }),
  LOG_LEVEL: enumSetting(
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const,
    'warn',
  ),
};

async function main(): Promise<number> {
  const config = readConfig(platformConfigSchema, process.env);
  const logger = createLogger('platform', { level: config.LOG_LEVEL });
  const platform = await startEmbeddedPlatform({
    cellCount: config.CELLPAY_CELLS,
    slotCount: config.CELLPAY_SLOT_COUNT,
    gatewayPort: config.CELLPAY_GRPC_PORT,
    host: config.CELLPAY_GRPC_HOST,
    logger,
  });
  const users = await seedDemo(platform);
  // The secrets go to a file only the current user can read, never to the terminal or the log.
  const credentialsFile = resolve(config.CELLPAY_CREDENTIALS_FILE);
  mkdirSync(dirname(credentialsFile), { recursive: true });
  writeFileSync(
    credentialsFile,
    `${JSON.stringify(
      {
        address: platform.gatewayAddress,
        profiles: Object.fromEntries(
          platform.credentials.map((credential) => [
            credential.ownerId,
            { keyId: credential.keyId, secretHex: credential.secretHex },
          ]),
        ),
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  chmodSync(credentialsFile, 0o600);
  process.stdout.write(
    renderBanner({
      gatewayAddress: platform.gatewayAddress,
      cells: platform.cells.map((cell) => cell.cellId),
      credentialsFile,
      merchantId: demoMerchantId,
      users,
    }),
  );
  await new Promise<void>((resolveSignal) => {
    process.once('SIGTERM', resolveSignal);
    process.once('SIGINT', resolveSignal);
  });
  process.stdout.write('cellpay platform: draining calls and shutting down\n');
  await platform.close();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      error instanceof ConfigError
        ? `${error.message}\n`
        : `platform: ${String(error instanceof Error ? error.stack : error)}\n`,
    );
    process.exitCode = 1;
  },
);
