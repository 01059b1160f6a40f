import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

export const REPO = resolve(import.meta.dirname, '../..');
const CONFIG = join(REPO, '.dependency-cruiser.cjs');

/** One broken rule, as `npm run lint` prints it: `rule: from → to`. */
export interface Violation {
  rule: string;
  from: string;
  to: string;
}

export const show = (v: Violation): string => `${v.rule}: ${v.from} → ${v.to}`;

/** Runs the repository's dependency-cruiser config over `root`/src, as `npm run lint` does. */
export async function cruiseLayers(root: string): Promise<Violation[]> {
  const options = await extractDepcruiseOptions(CONFIG);
  const tsConfig = join(root, 'tsconfig.json');
  const { output } = await cruise(
    ['src'],
    { ...options, baseDir: root, tsConfig: { fileName: tsConfig } },
    {},
    { tsConfig: extractTSConfig(tsConfig) },
  );
  const result = output as ICruiseResult;
  return (result.summary.violations ?? []).map((v) => ({
    rule: v.rule.name,
    from: v.from,
    to: v.to,
  }));
}

/*
 * The layering as the issue and the README state it, written out again here
 * rather than read from the config, so that a config that forbids an allowed
 * arrow fails the skeleton test below. Keys are folders of src/, or root files.
 */
const DOMAIN = [
  'shared',
  'protocol',
  'config',
  'jws',
  'store',
  'policy',
  'oidc',
  'rate-limit',
  'tokens',
  'saml',
  'sessions',
  'scim',
  'exchange',
];
const ENTRIES_MAY_USE = [...DOMAIN, 'workspace', 'http', 'client', 'app.ts', 'deps.ts'];

export const MAY_IMPORT: Record<string, string[]> = {
  shared: [],
  protocol: ['shared'],
  config: ['shared', 'protocol'],
  jws: ['shared', 'protocol'],
  store: ['shared'],
  policy: ['shared', 'protocol', 'config'],
  oidc: ['shared', 'protocol', 'config', 'jws'],
  'rate-limit': ['shared', 'protocol', 'config'],
  tokens: ['shared', 'protocol', 'config', 'jws', 'store', 'policy'],
  saml: ['shared', 'protocol', 'config', 'policy', 'store', 'jws', 'oidc'],
  sessions: ['shared', 'protocol', 'config', 'store', 'saml'],
  scim: ['shared', 'protocol', 'config', 'store', 'saml'],
  exchange: DOMAIN.filter((folder) => folder !== 'exchange'),
  workspace: ['shared', 'protocol', 'jws', 'tokens', 'policy'],
  'deps.ts': DOMAIN,
  http: [...DOMAIN, 'deps.ts'],
  'app.ts': [...DOMAIN, 'workspace', 'http', 'client', 'deps.ts'],
  client: ['shared', 'protocol'],
  node: ENTRIES_MAY_USE,
  workers: ENTRIES_MAY_USE,
  demo: [...ENTRIES_MAY_USE, 'node'],
  cli: [...ENTRIES_MAY_USE, 'node', 'workers', 'demo'],
  'worker.ts': ['workers'],
};

/** Packages each layer legitimately uses (anything else npm is allowed but not exercised). */
const PACKAGES: Record<string, string[]> = {
  tokens: ['jose'],
  client: ['jose'],
  workspace: ['hono'],
  'deps.ts': ['hono'],
  http: ['hono', 'hono/cookie'],
  'app.ts': ['hono'],
  node: ['hono', '@hono/node-server', 'better-sqlite3', 'node:worker_threads'],
  workers: ['hono'],
  cli: ['better-sqlite3'],
};

/** `src/<layer>/<layer>.ts`, or the root file itself. */
export const fileOf = (layer: string): string =>
  layer.endsWith('.ts') ? `src/${layer}` : `src/${layer}/${layer}.ts`;

/** The import specifier of `layer`'s file, relative to `fromFile` (both repo-relative). */
export function specifier(fromFile: string, layer: string): string {
  const target = fileOf(layer).replace(/\.ts$/, '.js').slice('src/'.length);
  const depth = fromFile.split('/').length - 2;
  return depth === 0 ? `./${target}` : `${'../'.repeat(depth)}${target}`;
}

/**
 * A small src/ tree with one file per layer that imports every layer and
 * package it may, a nested folder, a .tsx page and a .mjs worker: the shape
 * the refactored tree has, without its today's violations.
 */
export function skeleton(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [layer, allowed] of Object.entries(MAY_IMPORT)) {
    const file = fileOf(layer);
    const lines = allowed.map((dep, i) => `import * as m${i} from '${specifier(file, dep)}';`);
    (PACKAGES[layer] ?? []).forEach((pkg, i) => lines.push(`import * as p${i} from '${pkg}';`));
    const uses = [
      ...allowed.map((_, i) => `m${i}`),
      ...(PACKAGES[layer] ?? []).map((_, i) => `p${i}`),
    ];
    lines.push(`export type Value = string;`);
    lines.push(`export const value: Value = '${layer}';`);
    lines.push(`export const uses: unknown[] = [${uses.join(', ')}];`);
    files[file] = lines.join('\n') + '\n';
  }
  // A registry in a subfolder that imports its parent (not a folder cycle).
  files['src/exchange/grant.ts'] = `export interface Grant { name: string }\n`;
  files['src/exchange/grants/ci.ts'] =
    `import type { Grant } from '../grant.js';\nimport { value } from '../../policy/policy.js';\n` +
    `export const ci: Grant = { name: value };\n`;
  files['src/exchange/registry.ts'] =
    `import { ci } from './grants/ci.js';\nexport const all = [ci];\n`;
  files['src/http/pages/page.tsx'] =
    `import { value } from '../../shared/shared.js';\n` +
    `export const Page = () => <p>{value}</p>;\n`;
  files['src/http/routes.ts'] =
    `import { Page } from './pages/page.js';\nexport const page = Page;\n`;
  files['src/node/sqlite/writer.mjs'] =
    `import Database from 'better-sqlite3';\nimport { parentPort } from 'node:worker_threads';\n` +
    `import { value } from '../../shared/shared.js';\nexport const writer = [Database, parentPort, value];\n`;
  return files;
}

/** A fresh directory (never reused: dependency-cruiser memoises parsed files by path). */
export function freshTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tokenbroker-layers-'));
  symlinkSync(realpathSync(join(REPO, 'node_modules')), join(root, 'node_modules'), 'dir');
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({ extends: join(REPO, 'tsconfig.json'), include: ['src'] }),
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
