import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'action/dist/',
      'coverage/',
      'test-output/',
      '.wrangler/',
      '.dev.vars*',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['scripts/**', 'bench/**', 'bin/**'], languageOptions: { globals: globals.node } },
  // Tool configs that must be CommonJS (.dependency-cruiser.cjs).
  { files: ['*.cjs'], languageOptions: { sourceType: 'commonjs', globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The core must run on Workers too: only the Node entry (its SQLite store
    // included), the demo (which `serve` runs on Node) and the CLI may reach
    // for Node built-ins.
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    ignores: ['src/node/**', 'src/cli/**', 'src/demo/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'better-sqlite3', '@hono/node-server'],
              message:
                'Node-only module in the runtime-agnostic core: move it to src/node/ or inject it.',
            },
          ],
        },
      ],
    },
  },
);
