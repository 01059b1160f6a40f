import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

// The migrations are plain .sql files imported as text, as esbuild's text loader does in the build.
const sqlText: Plugin = {
  name: 'sql-text',
  enforce: 'pre',
  transform: (code, id) =>
    id.endsWith('.sql')
      ? { code: `export default ${JSON.stringify(code)};`, map: null }
      : undefined,
};

/**
 * Two projects in one run: the Node one (everything under test/ but
 * test/workerd/) in forked processes, and the Workers one, whose files run
 * inside workerd with the repository's wrangler.toml and a local D1 that each
 * file starts empty and migrates (test/workerd/setup.ts).
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations('migrations');
  return {
    test: {
      projects: [
        {
          plugins: [sqlText],
          test: {
            name: 'node',
            include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
            exclude: ['test/workerd/**', '**/node_modules/**'],
            testTimeout: 20_000,
            hookTimeout: 30_000,
            pool: 'forks',
          },
        },
        {
          plugins: [
            sqlText,
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: { bindings: { TEST_MIGRATIONS: migrations } },
            }),
          ],
          test: {
            name: 'workerd',
            include: ['test/workerd/**/*.test.ts'],
            setupFiles: ['test/workerd/setup.ts'],
            testTimeout: 20_000,
            hookTimeout: 30_000,
          },
        },
      ],
    },
  };
});
