/*
 * The layering of src/, checked by `npm run lint` (and test/lint/layering.test.ts).
 *
 * Each folder may import itself, npm packages, and the folders listed for it
 * in LAYERS; any other import of a file under src/ is an error, relative or
 * not, type-only or not. The lists only ever point down, so a folder cycle
 * also breaks an allow-list; `no-folder-cycle` and `no-circular` say so in
 * plainer words and also catch cycles inside a folder (between its files or
 * its subfolders).
 */

/**
 * The domain: what every entry point (Node, Workers, the CLI) reuses unchanged.
 * It never imports http/, the entries, the client, the root files, Hono or a
 * Node-only package.
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

/** The only files directly under src/: the core's composition, and wrangler.toml's `main`. */
const APP = 'src/app.ts';
const DEPS = 'src/deps.ts';
const WORKER = 'src/worker.ts';

/*
 * folder → [the src/ folders (or root files) it may import, why]. A folder
 * always may import itself and any npm package not forbidden further down.
 */
const LAYERS = {
  shared: [[], 'neutral helpers every layer may use, so they import no layer'],
  protocol: [
    ['shared'],
    'what the client shares with the server; the client must not pull in the server',
  ],
  config: [['shared', 'protocol'], 'config validates shapes and is a leaf of the domain'],
  jws: [['shared', 'protocol'], 'compact JWS parsing knows nothing of tokens or policies'],
  store: [
    ['shared'],
    'the Store interface is what every runtime implements, so it depends on no domain folder',
  ],
  policy: [['shared', 'protocol', 'config'], 'policies are compiled from config and nothing else'],
  oidc: [['shared', 'protocol', 'config', 'jws'], 'verifying a CI token needs only its providers'],
  'rate-limit': [['shared', 'protocol', 'config'], 'the limiter counts hits; it knows no grant'],
  tokens: [
    ['shared', 'protocol', 'config', 'jws', 'store', 'policy'],
    'the broker mints and verifies its own tokens below the grants that ask for them',
  ],
  saml: [
    ['shared', 'protocol', 'config', 'policy', 'store', 'jws', 'oidc'],
    'SAML checks assertions and returns an identity; it never mints nor answers HTTP',
  ],
  sessions: [
    ['shared', 'protocol', 'config', 'store', 'saml'],
    'browser sessions take and return plain values; only http/ touches Hono',
  ],
  scim: [
    ['shared', 'protocol', 'config', 'store', 'saml'],
    'SCIM provisioning keeps users and ends access through the store; only http/ answers HTTP',
  ],
  exchange: [
    DOMAIN.filter((folder) => folder !== 'exchange'),
    'every grant runs end to end here; http/ calls it, never the other way',
  ],
  workspace: [
    ['shared', 'protocol', 'jws', 'tokens', 'policy'],
    'the package export verifies workspace tokens without the grants, store or routes',
  ],
  http: [
    [...DOMAIN, DEPS],
    'routes only translate requests to the exchange and back; they import AppDeps from ' +
      'src/deps.ts, never the app that mounts them',
  ],
  client: [
    ['shared', 'protocol'],
    'the client ships inside the CI action and the CLI; it must not bundle the server',
  ],
  node: [
    [...DOMAIN, 'workspace', 'http', 'client', APP, DEPS],
    'the Node entry composes everything but the CLI (which starts it) and Workers',
  ],
  workers: [
    [...DOMAIN, 'workspace', 'http', 'client', APP, DEPS],
    'the Workers entry composes everything but the CLI and the Node entry',
  ],
  demo: [
    [...DOMAIN, 'workspace', 'http', 'client', 'node', APP, DEPS],
    '`npm start` without a config: the Node entry plus a test IdP and CI issuer; only the CLI starts it',
  ],
  cli: [
    [...DOMAIN, 'workspace', 'http', 'client', 'node', 'workers', 'demo', APP, DEPS],
    'the CLI sits on top and may use everything',
  ],
};

/** Root files are layers of their own: deps.ts sits below http/, app.ts above it. */
const ROOT_FILES = {
  [DEPS]: [
    [...DOMAIN],
    'the types the routes share; importing http/ from here would close a loop through the routes',
  ],
  [APP]: [
    [...DOMAIN, 'workspace', 'http', 'client', DEPS],
    'createApp composes the runtime-agnostic core: no Node entry, no CLI',
  ],
  [WORKER]: [
    ['workers'],
    "wrangler.toml's main only re-exports the Workers entry, which lives in src/workers/",
  ],
};

const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A regex matching any file inside one of these folders of src/, or equal to
 * one of these root files ('src/…'). Kept short: dependency-cruiser checks
 * every rule's regex for catastrophic backtracking on each run.
 */
function within(targets) {
  const folders = targets.filter((target) => !target.startsWith('src/'));
  const files = targets.filter((target) => target.startsWith('src/')).map((f) => f.slice(4));
  const alternatives = [];
  if (folders.length > 0) alternatives.push(`(${folders.map(escapeRegex).join('|')})/`);
  if (files.length > 0) alternatives.push(`(${files.map(escapeRegex).join('|')})$`);
  return `^src/(${alternatives.join('|')})`;
}

const MAPPED = within([...Object.keys(LAYERS), ...Object.keys(ROOT_FILES)]);

// Imports of files outside the map are left to `import-of-file-outside-the-map`,
// so that each wrong arrow is reported once.
const layerRules = Object.entries(LAYERS).map(([folder, [allowed, why]]) => ({
  name: `${folder}-imports-only-${allowed.length === 0 ? 'itself' : 'its-layers'}`,
  comment:
    `src/${folder}/ may import ` +
    (allowed.length === 0 ? 'no other src/ folder' : allowed.join(', ')) +
    `: ${why}.`,
  severity: 'error',
  from: { path: `^src/${escapeRegex(folder)}/` },
  to: { path: MAPPED, pathNot: within([folder, ...allowed]) },
}));

const rootRules = Object.entries(ROOT_FILES).map(([file, [allowed, why]]) => ({
  name: `${file.replace(/^src\//, '').replace(/\.ts$/, '')}-imports-only-its-layers`,
  comment: `${file} may import ${allowed.join(', ')}: ${why}.`,
  severity: 'error',
  from: { path: `^${escapeRegex(file)}$` },
  to: { path: MAPPED, pathNot: within([file, ...allowed]) },
}));

/** npm packages that tie code to a web framework or to Node. */
const HONO = '(^|/)node_modules/(hono|@hono/[^/]+)/';
const NODE_ONLY = '(^|/)node_modules/(better-sqlite3|@hono/node-server)/|^(node:)?worker_threads$';

module.exports = {
  forbidden: [
    ...layerRules,
    ...rootRules,
    {
      name: 'file-outside-the-map',
      comment:
        'Every file under src/ sits in one of the folders of the layering (or is src/app.ts, ' +
        'src/deps.ts or src/worker.ts), so that a rule says what it may import: move it, or add its folder to ' +
        '.dependency-cruiser.cjs and the README map.',
      severity: 'error',
      from: { path: '^src/', pathNot: MAPPED },
      to: {},
    },
    {
      name: 'import-of-file-outside-the-map',
      comment:
        'The imported file sits outside the folders of the layering: move it into the folder ' +
        'that owns it, or add its folder to .dependency-cruiser.cjs and the README map.',
      severity: 'error',
      from: { path: MAPPED },
      to: { path: '^src/', pathNot: MAPPED },
    },
    {
      name: 'domain-not-to-hono',
      comment:
        'Domain folders take and return plain values so that a second entry point (Workers, ' +
        'the CLI) reuses them unchanged: only http/, workspace/ and the entries touch Hono.',
      severity: 'error',
      from: { path: within(DOMAIN) },
      to: { path: HONO },
    },
    {
      name: 'client-not-to-hono',
      comment: 'The client is bundled into the CI action: no server framework in it.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: HONO },
    },
    {
      name: 'node-only-module-outside-node-entry',
      comment:
        'better-sqlite3, @hono/node-server and worker_threads exist only on Node: they belong ' +
        'to src/node/ (or the CLI), which injects them into the runtime-agnostic core.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(node|cli)/' },
      to: { path: NODE_ONLY },
    },
    {
      name: 'no-folder-cycle',
      comment:
        'Two folders that import each other are one folder in disguise: move the shared part ' +
        'down a layer (often to shared/ or protocol/).',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular',
      comment:
        'Files that import each other cannot be read, tested or moved one at a time: ' +
        'move what both need into a third module.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'An import that does not resolve cannot be checked against the layering; fix the path ' +
        '(or add the package to package.json).',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // Report packages as node_modules/<name>/…, even where node_modules is a symlink.
    preserveSymlinks: true,
    // Type-only imports count: a type from another layer couples as much as a value.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The extensions in use: pages are .tsx, the SQLite worker and its types .mjs/.d.mts.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.d.ts', '.mts', '.d.mts', '.mjs', '.js', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
