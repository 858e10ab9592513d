// Type-aware linting for the whole project, plus the import boundary that keeps
// src/domain pure: no I/O libraries, no node:* I/O modules, no adapters.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const IO_MODULES = [
  'pg',
  'pg-*',
  'nats',
  'fastify',
  '@fastify/*',
  '@eventstore/*',
  '@electric-sql/*',
  '@grpc/*',
  '@modelcontextprotocol/*',
  'node:fs',
  'node:fs/*',
  'node:net',
  'node:http',
  'node:https',
  'node:child_process',
  'node:worker_threads',
  'node:dgram',
  'node:dns',
  'node:os',
  'node:process',
  'fs',
  'fs/*',
  'net',
  'http',
  'https',
  'child_process',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-test/**',
      'node_modules/**',
      'coverage/**',
      '.ledgerline-data/**',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allow: [{ from: 'lib', name: 'BigInt' }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      'no-console': 'error',
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: IO_MODULES, message: 'src/domain is pure: no I/O libraries here.' },
            {
              group: ['**/adapters/**', '**/commands/**', '**/projections/**', '**/mcp/**', '**/cli/**'],
              message: 'src/domain depends on nothing outside itself.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: 'The clock arrives in the context.' },
        { name: 'process', message: 'No environment in the domain.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Randomness arrives in the context.' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'vitest.config.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests read JSON answers freely; the assertions are what check their shape.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      'no-console': 'off',
    },
  },
);
