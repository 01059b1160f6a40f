import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cruiseLayers,
  fileOf,
  freshTree,
  MAY_IMPORT,
  show,
  skeleton,
  specifier,
  type Violation,
} from './layers.js';

const trees: string[] = [];
afterAll(() => trees.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** The skeleton with `planted` files added (or replaced), cruised by the repository's config. */
async function cruiseWith(planted: Record<string, string>): Promise<Violation[]> {
  const root = freshTree({ ...skeleton(), ...planted });
  trees.push(root);
  return cruiseLayers(root);
}

const rulesOf = (violations: Violation[]): string[] =>
  [...new Set(violations.map((v) => v.rule))].sort();

describe('the layering rules', () => {
  it('allow every arrow the layering allows: a tree importing all it may has no violation', async () => {
    expect((await cruiseWith({})).map(show)).toEqual([]);
  });

  it('forbid every arrow the layering does not allow, each by its own layer rule', async () => {
    const layers = Object.keys(MAY_IMPORT);
    const planted: Record<string, string> = {};
    const expected: string[] = [];
    for (const [layer, allowed] of Object.entries(MAY_IMPORT)) {
      const rule = `${layer.replace(/\.ts$/, '')}-imports-only-${allowed.length > 0 ? 'its-layers' : 'itself'}`;
      for (const target of layers.filter((t) => t !== layer && !allowed.includes(t))) {
        // A root file is its own layer: plant its arrows in the file itself.
        const file = layer.endsWith('.ts')
          ? fileOf(layer)
          : `src/${layer}/to-${target.replace(/\.ts$/, '')}.ts`;
        const line = `export * as to_${target.replace(/\W/g, '_')} from '${specifier(file, target)}';\n`;
        planted[file] = (planted[file] ?? skeleton()[file] ?? '') + line;
        expected.push(show({ rule, from: file, to: fileOf(target) }));
      }
    }
    expect(expected.length).toBeGreaterThan(150);
    const violations = await cruiseWith(planted);
    const cycles = new Set(['no-circular', 'no-folder-cycle']);
    expect(
      violations
        .filter((v) => !cycles.has(v.rule))
        .map(show)
        .sort(),
    ).toEqual(expected.sort());
  });

  interface Plant {
    what: string;
    files: Record<string, string>;
    /** Every rule the plant breaks, exactly. */
    rules: string[];
    /** The arrow the layer rule names, when there is one. */
    arrow?: [from: string, to: string];
  }

  const plants: Plant[] = [
    {
      what: 'a domain file importing http/ by a relative path',
      files: {
        'src/policy/planted.ts': `import { value } from '../http/http.js';\nexport const x = value;\n`,
      },
      rules: ['no-folder-cycle', 'policy-imports-only-its-layers'],
      arrow: ['src/policy/planted.ts', 'src/http/http.ts'],
    },
    {
      what: 'a type-only import of http/ from exchange/',
      files: {
        'src/exchange/planted.ts': `import type { Value } from '../http/http.js';\nexport const x: Value = '';\n`,
      },
      rules: ['exchange-imports-only-its-layers', 'no-folder-cycle'],
      arrow: ['src/exchange/planted.ts', 'src/http/http.ts'],
    },
    {
      what: 'a file in a subfolder of exchange/ importing the Node entry',
      files: { 'src/exchange/grants/planted.ts': `export * from '../../node/node.js';\n` },
      rules: ['exchange-imports-only-its-layers', 'no-folder-cycle'],
      arrow: ['src/exchange/grants/planted.ts', 'src/node/node.ts'],
    },
    {
      what: 'a dynamic import of http/ from tokens/',
      files: { 'src/tokens/planted.ts': `export const load = () => import('../http/http.js');\n` },
      rules: ['no-folder-cycle', 'tokens-imports-only-its-layers'],
      arrow: ['src/tokens/planted.ts', 'src/http/http.ts'],
    },
    {
      what: 'store/ importing policy/',
      files: {
        'src/store/planted.ts': `import { value } from '../policy/policy.js';\nexport const x = value;\n`,
      },
      rules: ['store-imports-only-its-layers'],
      arrow: ['src/store/planted.ts', 'src/policy/policy.ts'],
    },
    {
      what: 'a .mjs file in store/ importing tokens/',
      files: { 'src/store/planted.mjs': `export { value } from '../tokens/tokens.js';\n` },
      rules: ['no-folder-cycle', 'store-imports-only-its-layers'],
      arrow: ['src/store/planted.mjs', 'src/tokens/tokens.ts'],
    },
    {
      what: 'client/ importing exchange/',
      files: {
        'src/client/planted.ts': `import { value } from '../exchange/exchange.js';\nexport const x = value;\n`,
      },
      rules: ['client-imports-only-its-layers'],
      arrow: ['src/client/planted.ts', 'src/exchange/exchange.ts'],
    },
    {
      what: 'client/ importing the neutral config leaf (only shared/ and protocol/ are allowed)',
      files: { 'src/client/planted.ts': `export { value } from '../config/config.js';\n` },
      rules: ['client-imports-only-its-layers'],
      arrow: ['src/client/planted.ts', 'src/config/config.ts'],
    },
    {
      what: 'the package export importing exchange/',
      files: { 'src/workspace/planted.ts': `export { value } from '../exchange/exchange.js';\n` },
      rules: ['workspace-imports-only-its-layers'],
      arrow: ['src/workspace/planted.ts', 'src/exchange/exchange.ts'],
    },
    {
      what: 'shared/ importing protocol/',
      files: { 'src/shared/planted.ts': `export { value } from '../protocol/protocol.js';\n` },
      rules: ['no-folder-cycle', 'shared-imports-only-itself'],
      arrow: ['src/shared/planted.ts', 'src/protocol/protocol.ts'],
    },
    {
      what: 'a two-folder cycle: config/ importing policy/ while policy/ imports config/',
      files: { 'src/config/planted.ts': `export { value } from '../policy/policy.js';\n` },
      rules: ['config-imports-only-its-layers', 'no-folder-cycle'],
      arrow: ['src/config/planted.ts', 'src/policy/policy.ts'],
    },
    {
      what: 'a route importing the app that mounts it',
      files: { 'src/http/planted.ts': `export { value } from '../app.js';\n` },
      rules: ['http-imports-only-its-layers'],
      arrow: ['src/http/planted.ts', 'src/app.ts'],
    },
    {
      what: 'deps.ts importing a route (which imports deps.ts)',
      files: {
        'src/deps.ts': `export { value } from './http/http.js';\nexport type Value = string;\n`,
      },
      rules: ['deps-imports-only-its-layers', 'no-circular'],
      arrow: ['src/deps.ts', 'src/http/http.ts'],
    },
    {
      what: 'the Node entry importing the CLI',
      files: { 'src/node/planted.ts': `export { value } from '../cli/cli.js';\n` },
      rules: ['no-folder-cycle', 'node-imports-only-its-layers'],
      arrow: ['src/node/planted.ts', 'src/cli/cli.ts'],
    },
    {
      what: 'a domain file importing hono (types only)',
      files: {
        'src/saml/planted.ts': `import type { Context } from 'hono';\nexport type C = Context;\n`,
      },
      rules: ['domain-not-to-hono'],
    },
    {
      what: 'a domain file importing a hono helper',
      files: { 'src/sessions/planted.ts': `export { getCookie } from 'hono/cookie';\n` },
      rules: ['domain-not-to-hono'],
    },
    {
      what: 'a domain file importing @hono/node-server',
      files: { 'src/exchange/planted.ts': `export { serve } from '@hono/node-server';\n` },
      rules: ['domain-not-to-hono', 'node-only-module-outside-node-entry'],
    },
    {
      what: 'the client importing hono',
      files: { 'src/client/planted.ts': `export { Hono } from 'hono';\n` },
      rules: ['client-not-to-hono'],
    },
    {
      what: 'store/ importing better-sqlite3',
      files: {
        'src/store/planted.ts': `import Database from 'better-sqlite3';\nexport const D = Database;\n`,
      },
      rules: ['node-only-module-outside-node-entry'],
    },
    {
      what: 'a route importing node:worker_threads',
      files: { 'src/http/planted.ts': `export { Worker } from 'node:worker_threads';\n` },
      rules: ['node-only-module-outside-node-entry'],
    },
    {
      what: 'two subfolders of http/ importing each other (a folder cycle without a file cycle)',
      files: {
        'src/http/forms/form.ts': `export { Page } from '../pages/page.js';\n`,
        'src/http/pages/uses-form.ts': `export * from '../forms/other.js';\n`,
        'src/http/forms/other.ts': `export const other = 1;\n`,
      },
      rules: ['no-folder-cycle'],
    },
    {
      what: 'two files of one folder importing each other',
      files: {
        'src/policy/a.ts': `import { b } from './b.js';\nexport const a = () => b;\n`,
        'src/policy/b.ts': `import { a } from './a.js';\nexport const b = () => a;\n`,
      },
      rules: ['no-circular'],
    },
    {
      what: 'an import of a file outside the map',
      files: {
        'src/util.ts': `export const util = 1;\n`,
        'src/shared/planted.ts': `export { util } from '../util.js';\n`,
      },
      rules: ['import-of-file-outside-the-map'],
      arrow: ['src/shared/planted.ts', 'src/util.ts'],
    },
    {
      what: 'a folder outside the map',
      files: { 'src/text/show.ts': `export { value } from '../shared/shared.js';\n` },
      rules: ['file-outside-the-map'],
      arrow: ['src/text/show.ts', 'src/shared/shared.ts'],
    },
    {
      what: 'an import that does not resolve',
      files: { 'src/policy/planted.ts': `export { gone } from './gone.js';\n` },
      rules: ['not-to-unresolvable'],
    },
  ];

  it.each(plants)('report $what', async ({ files, rules, arrow }) => {
    const violations = await cruiseWith(files);
    expect(rulesOf(violations), violations.map(show).join('\n')).toEqual(rules);
    if (arrow) {
      const [from, to] = arrow;
      const layerRule = rules.find((rule) => !rule.startsWith('no-'))!;
      expect(violations.map(show)).toContain(show({ rule: layerRule, from, to }));
    }
  });
});
