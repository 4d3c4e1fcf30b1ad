import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// Which scopes may import which. Gateway and cell code never import each other; both read the
// global zone (credentials, routing table, switches). The platform app is the one composition root
// allowed to see every scope (it runs everything in one process).
const scopeConstraints = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  {
    sourceTag: 'scope:cell',
    onlyDependOnLibsWithTags: ['scope:cell', 'scope:global', 'scope:shared'],
  },
  {
    sourceTag: 'scope:gateway',
    onlyDependOnLibsWithTags: ['scope:gateway', 'scope:global', 'scope:shared'],
  },
  { sourceTag: 'scope:global', onlyDependOnLibsWithTags: ['scope:global', 'scope:shared'] },
  {
    sourceTag: 'scope:settlement',
    onlyDependOnLibsWithTags: ['scope:settlement', 'scope:cell', 'scope:global', 'scope:shared'],
  },
  {
    sourceTag: 'scope:control-plane',
    onlyDependOnLibsWithTags: [
      'scope:control-plane',
      'scope:global',
      'scope:settlement',
      // Drills drive load from outside, as a merchant would: through the SDK and the loadgen.
      'scope:tooling',
      'scope:sdk',
      'scope:shared',
    ],
  },
  // The merchant SDK is what outsiders link: it sees only shared code (proto types, signing).
  { sourceTag: 'scope:sdk', onlyDependOnLibsWithTags: ['scope:sdk', 'scope:shared'] },
  // Tools (the load generator) drive the platform from outside, through shared code and the SDK.
  {
    sourceTag: 'scope:tooling',
    onlyDependOnLibsWithTags: ['scope:tooling', 'scope:sdk', 'scope:shared'],
  },
  // The simulator runs cell and settlement code together in one simulated world, as a test
  // harness of the money logic; nothing depends on it.
  {
    sourceTag: 'scope:simulation',
    onlyDependOnLibsWithTags: [
      'scope:simulation',
      'scope:cell',
      'scope:settlement',
      'scope:global',
      'scope:shared',
    ],
  },
  {
    sourceTag: 'scope:platform',
    onlyDependOnLibsWithTags: [
      'scope:platform',
      'scope:gateway',
      'scope:cell',
      'scope:settlement',
      'scope:global',
      'scope:control-plane',
      'scope:sdk',
      'scope:tooling',
      'scope:shared',
    ],
  },
];

// Which layers may import which. Domain code is pure (no I/O), so it never sees data access.
const typeConstraints = [
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:util'] },
  {
    sourceTag: 'type:data-access',
    onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:util'],
  },
  {
    sourceTag: 'type:feature',
    onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:domain', 'type:util'],
  },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: ['type:testing', 'type:data-access', 'type:domain', 'type:util'],
  },
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: [
      'type:feature',
      'type:data-access',
      'type:domain',
      'type:util',
      'type:testing',
    ],
  },
];

// Tests may also use the test helpers (type:testing); production code may not.
const testFiles = ['**/*.spec.ts', '**/*.integration-spec.ts', '**/__tests__/**/*.ts'];
const typeConstraintsInTests = typeConstraints.map((constraint) => ({
  ...constraint,
  onlyDependOnLibsWithTags: [...new Set([...constraint.onlyDependOnLibsWithTags, 'type:testing'])],
}));
const boundaries = (depConstraints) => [
  'error',
  { enforceBuildableLibDependency: true, allow: [], depConstraints },
];

export default [
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/tmp/**',
      '**/coverage/**',
      '.nx/**',
      '.infra/**',
      'reports/**',
      'libs/shared/proto/src/generated/**',
    ],
  },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@nx/enforce-module-boundaries': boundaries([...scopeConstraints, ...typeConstraints]),
      // Money and I/O are asynchronous; a forgotten promise is a lost write or an unhandled error.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.name='parseFloat']",
          message: 'Money is bigint minor units; parseFloat has no place here.',
        },
        {
          selector: "CallExpression[callee.property.name='toFixed']",
          message: 'Money is bigint minor units; format it with @cellpay/money.',
        },
      ],
    },
  },
  {
    files: testFiles,
    rules: {
      '@nx/enforce-module-boundaries': boundaries([...scopeConstraints, ...typeConstraintsInTests]),
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
];
