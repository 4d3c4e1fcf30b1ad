// Integration tests: `*.integration-spec.ts`, against the real MariaDB, Redis and Kafka that the
// global setup brings up through tools/infra (and the teardown stops only if it started them).
import type { Config } from 'jest';

const preset = require('./jest.preset.js') as Config;

const config: Config = {
  ...preset,
  displayName: 'integration',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools'],
  testMatch: ['**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/tools/testing/integration-global-setup.ts',
  globalTeardown: '<rootDir>/tools/testing/integration-global-teardown.ts',
  // Suites share one set of real services; running them one at a time keeps a 2-core machine
  // responsive and the results independent of scheduling.
  maxWorkers: 1,
  testTimeout: 120_000,
};

export default config;
