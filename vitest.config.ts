import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { dirname, resolve } from 'node:path';
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

/** In workerd, the shared helpers' runtime (SQLite files, sockets) is D1's and socket-free. */
const workerdRuntime: Plugin = {
  name: 'workerd-runtime',
  enforce: 'pre',
  resolveId: (source, importer) =>
    importer && resolve(dirname(importer), source) === resolve('test/helpers/runtime.js')
      ? resolve('test/workerd/runtime.ts')
      : undefined,
};

/**
 * Test files that run on both runtimes: createApp with a manual clock, on
 * SQLite in Node and on D1 in workerd (every case that moves time is in
 * them). They use only the Store interface and reach servers only through
 * the helpers.
 */
const SHARED = [
  'test/http/rate-limit-window.test.ts',
  'test/http/introspect.test.ts',
  'test/http/revoke.test.ts',
  'test/exchange/downscope.test.ts',
  'test/exchange/pipeline.test.ts',
  'test/exchange/denial-audit.test.ts',
  'test/oidc/exchange.test.ts',
  'test/saml/clock.test.ts',
  'test/saml/login.test.ts',
  'test/device/authorization.test.ts',
  'test/device/guessing.test.ts',
  'test/device/approval-page.test.ts',
  'test/sessions/sessions.test.ts',
  'test/oidc/jwks-cache.test.ts',
  'test/device/flow.test.ts',
  'test/admin/actions.test.ts',
];

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
      // Both cores: the default (cores - 1) runs a 2-core CI machine's files one at a time.
      maxWorkers: 2,
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
            // wrangler, started by test/contract and test/workers: no telemetry, no cf.json download.
            env: { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
          },
        },
        {
          plugins: [
            sqlText,
            workerdRuntime,
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: { bindings: { TEST_MIGRATIONS: migrations } },
            }),
          ],
          test: {
            name: 'workerd',
            include: ['test/workerd/**/*.test.ts', ...SHARED],
            setupFiles: ['test/workerd/setup.ts'],
            testTimeout: 20_000,
            hookTimeout: 30_000,
          },
        },
      ],
    },
  };
});
