import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * Node modules that Cloudflare Workers provide under `nodejs_compat`: the core
 * (createApp and everything it imports, node-saml included) may reach these and
 * nothing else Node-only, so the same app can run in workerd.
 */
const WORKERS_NODE_COMPAT = new Set([
  'assert',
  'async_hooks',
  'buffer',
  'crypto',
  'diagnostics_channel',
  'dns',
  'events',
  'fs',
  'net',
  'path',
  'process',
  'querystring',
  'stream',
  'string_decoder',
  'timers',
  'tls',
  'url',
  'util',
  'zlib',
]);

const builtins = new Set(builtinModules);

/** The Node modules an entry reaches when bundled for a non-Node platform, with who imports each. */
async function nodeModulesReached(entry: string): Promise<Map<string, string>> {
  const reached = new Map<string, string>();
  await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    conditions: ['workerd', 'worker', 'browser'],
    loader: { '.sql': 'text' },
    logLevel: 'silent',
    plugins: [
      {
        name: 'record-node-modules',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            const base = args.path.replace(/^node:/, '').split('/')[0]!;
            if (!args.path.startsWith('node:') && !builtins.has(base)) return undefined;
            if (!reached.has(base))
              reached.set(base, args.importer.replace(`${process.cwd()}/`, ''));
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return reached;
}

const outsideCompat = (reached: Map<string, string>) =>
  [...reached].filter(([m]) => !WORKERS_NODE_COMPAT.has(m)).map(([m, by]) => `${m} (from ${by})`);

describe('the core bundles for Workers', () => {
  it.each(['src/app.ts', 'src/worker.ts'])(
    'reaches no Node module that nodejs_compat lacks from %s',
    async (entry) => {
      expect(outsideCompat(await nodeModulesReached(entry))).toEqual([]);
    },
  );

  it('names the module and its importer when a Node-only one is reached (the SQLite store)', async () => {
    expect(outsideCompat(await nodeModulesReached('src/node/sqlite/store.ts'))).toContain(
      'worker_threads (from src/node/sqlite/batch-client.ts)',
    );
  });
});
