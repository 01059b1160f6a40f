// Runs a TypeScript script (a benchmark) by bundling it with esbuild first:
// no TypeScript runtime loader is needed. Usage: node scripts/run-ts.mjs bench/exchange.ts [args]
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <file.ts> [args]');
  process.exit(2);
}
mkdirSync('dist/run', { recursive: true });
const outfile = resolve('dist/run', basename(entry).replace(/\.ts$/, '.mjs'));
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  loader: { '.sql': 'text' }, // the migrations, inlined as in scripts/build.mjs
  logLevel: 'warning',
});
// The SQLite writer runs as a worker thread, loaded from its own file next to the bundle.
copyFileSync(
  new URL('../src/node/sqlite/writer.mjs', import.meta.url),
  resolve('dist/run/writer.mjs'),
);
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
