// Unit tests: fast, no services. `*.spec.ts` next to the code.
import type { Config } from 'jest';

const preset = require('./jest.preset.js') as Config;

const config: Config = {
  ...preset,
  displayName: 'unit',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools'],
  testMatch: ['**/*.spec.ts'],
};

export default config;
