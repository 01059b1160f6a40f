// Bundles the CLI/server and the workspace helper with esbuild; npm packages
// stay external (better-sqlite3 is native). Declarations for the package's
// public entry come from tsc.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  // The migrations (migrations/*.sql) are inlined as text: the installed package reads no file for them.
  loader: { '.sql': 'text' },
};
await build({
  ...common,
  entryPoints: {
    cli: 'src/cli/bin.ts',
    // git's credential helper: the terminal commands without the server, to start fast.
    'git-credential': 'src/cli/git-credential-bin.ts',
    workspace: 'src/workspace/index.ts',
  },
  outdir: 'dist',
});
// The SQLite writer runs as a worker thread, which Node loads from its own file
// next to the bundle (see src/node/sqlite/store.ts).
copyFileSync('src/node/sqlite/writer.mjs', 'dist/writer.mjs');
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.types.json'], {
  stdio: 'inherit',
});
