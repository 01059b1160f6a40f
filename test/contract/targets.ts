import { readD1Migrations } from '@cloudflare/vitest-pool-workers';
import Database from 'better-sqlite3';
import { exportJWK, generateKeyPair } from 'jose';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { getPlatformProxy, unstable_startWorker } from 'wrangler';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { startServer } from '../../src/node/server.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/broker.js';

/**
 * Where the HTTP contract tests run: the same broker behind a real socket on
 * loopback, once as `tokenbroker serve` runs it (Node, SQLite) and once as
 * Cloudflare runs it (workerd, D1). A contract test only sees `url`; what
 * differs between the targets is what a client may see differ (SPEC section 7:
 * nothing but /metrics).
 */
export interface Target {
  name: 'node' | 'workers';
  start(options: TargetOptions): Promise<RunningTarget>;
}

export interface TargetOptions {
  /** The broker's config, as it would be written in tokenbroker.yaml or TOKENBROKER_CONFIG. */
  config: Record<string, unknown>;
  /** What `${NAME}` in the config is filled from: the environment on Node, secrets on Workers. */
  secrets: Record<string, string>;
}

export interface RunningTarget {
  name: Target['name'];
  /** The origin the broker listens on, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  /**
   * Reads the broker's database from the side, as an operator would (the
   * SQLite file; the local D1 through wrangler's binding for it), for the few
   * contract statements about what landed there. Never a way into the broker.
   */
  query(sql: string, ...params: (string | number)[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const REPO = resolve(import.meta.dirname, '../..');

/** The Node entry point (src/node/server.ts) on a SQLite file in a temp dir. */
export const nodeTarget: Target = {
  name: 'node',
  async start({ config, secrets }) {
    const t = tempDir();
    const database = join(t.dir, 'tokenbroker.db');
    const parsed = parseConfig(stringify({ ...config, database }), { env: secrets });
    const server = await startServer(parsed, { host: '127.0.0.1', port: 0, logger: silentLogger });
    return {
      name: 'node',
      url: server.url,
      async query(sql, ...params) {
        const db = new Database(database, { readonly: true });
        try {
          return db.prepare(sql).all(...params) as Record<string, unknown>[];
        } finally {
          db.close();
        }
      },
      async close() {
        await server.close();
        t.cleanup();
      },
    };
  },
};

/**
 * The repository's wrangler.toml served by real workerd through wrangler's
 * own dev pipeline (`unstable_startWorker`: the same config reading, esbuild
 * bundling with the toml's `[[rules]]`, nodejs_compat and Miniflare setup as
 * `wrangler dev`), rather than Miniflare configured by hand, which would test
 * a bundle of our own making instead of the one wrangler ships. The config and
 * a fresh signing key arrive as the Worker's var and secret, exactly where
 * production reads them; the clock is the real one.
 */
export const workersTarget: Target = {
  name: 'workers',
  async start({ config, secrets }) {
    const t = tempDir();
    try {
      await migrateLocalD1(t.dir);
      const worker = await unstable_startWorker({
        config: join(REPO, 'wrangler.toml'),
        bindings: {
          TOKENBROKER_CONFIG: { type: 'plain_text', value: stringify(config) },
          SIGNING_KEY: { type: 'secret_text', value: JSON.stringify(await signingKey()) },
          ...Object.fromEntries(
            Object.entries(secrets).map(([k, v]) => [k, { type: 'secret_text', value: v }]),
          ),
        },
        // `wrangler dev` derives this from the toml's compatibility flags
        // (nodejs_compat: v2); the programmatic API leaves it to the caller,
        // and without it node-saml's `require("crypto")` does not bundle.
        build: {
          nodejsCompatMode: (toml) =>
            toml.compatibility_flags.includes('nodejs_compat') ? 'v2' : null,
        },
        dev: {
          persist: t.dir,
          server: { hostname: '127.0.0.1', port: 0 },
          inspector: false,
          watch: false,
          logLevel: 'error',
        },
      });
      await worker.ready;
      const url = (await worker.url).origin;
      try {
        await answersReady(url);
      } catch (e) {
        await worker.dispose();
        throw e;
      }
      return {
        name: 'workers',
        url,
        query: (sql, ...params) =>
          withLocalD1(
            t.dir,
            async (db) =>
              (
                await db
                  .prepare(sql)
                  .bind(...params)
                  .all()
              ).results,
          ),
        async close() {
          await worker.dispose();
          t.cleanup();
        },
      };
    } catch (e) {
      t.cleanup();
      throw e;
    }
  },
};

export const TARGETS: Target[] = [nodeTarget, workersTarget];

/** How long the first request may wait for wrangler's bundle and the Worker's first build. */
const FIRST_ANSWER_MS = 45_000;

/**
 * Fails the file's beforeAll at once, with the reason, when the Worker cannot
 * serve: a bundle that did not build leaves every request hanging (each test
 * would then wait out its own timeout), a broken binding answers 503.
 */
async function answersReady(url: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(FIRST_ANSWER_MS) });
  } catch (e) {
    throw new Error(
      `the Worker did not answer GET /readyz within ${FIRST_ANSWER_MS / 1000} s: see wrangler's build errors above`,
      { cause: e },
    );
  }
  if (res.status !== 200) {
    throw new Error(
      `the Worker is not ready: GET /readyz answered ${res.status} ${await res.text()}`,
    );
  }
}

/** A private signing key as an operator puts it in the SIGNING_KEY secret. */
async function signingKey() {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' };
}

/**
 * Applies migrations/ to the local D1 that `wrangler dev --persist-to <dir>`
 * opens, as `wrangler d1 migrations apply DB --local --persist-to <dir>` does
 * (each file split by wrangler's own splitter, one batch per file, recorded in
 * d1_migrations so wrangler sees them applied), through wrangler's own D1
 * binding for the toml, in half a second instead of the CLI's three and a
 * half. test/workers/wrangler-dev.test.ts runs the CLI itself.
 */
async function migrateLocalD1(dir: string): Promise<void> {
  const migrations = await readD1Migrations(join(REPO, 'migrations'));
  await withLocalD1(dir, async (db) => {
    await db
      .prepare(
        'CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)',
      )
      .run();
    for (const m of migrations) {
      await db.batch([
        ...m.queries.map((q) => db.prepare(q)),
        db.prepare('INSERT INTO d1_migrations (name) VALUES (?)').bind(m.name),
      ]);
    }
  });
}

/** The toml's `DB` binding on the local D1 persisted under `dir`, for the length of `use`. */
async function withLocalD1<T>(dir: string, use: (db: D1Like) => Promise<T>): Promise<T> {
  const proxy = await getPlatformProxy<{ DB: D1Like }>({
    configPath: join(REPO, 'wrangler.toml'),
    persist: { path: join(dir, 'v3') },
    remoteBindings: false,
  });
  try {
    return await use(proxy.env.DB);
  } finally {
    await proxy.dispose();
  }
}

/** The part of D1's binding used here (the Node project has no Workers types). */
interface D1Like {
  prepare(sql: string): D1StatementLike;
  batch(statements: D1StatementLike[]): Promise<unknown>;
}
interface D1StatementLike {
  bind(...values: unknown[]): D1StatementLike;
  run(): Promise<unknown>;
  all(): Promise<{ results: Record<string, unknown>[] }>;
}
