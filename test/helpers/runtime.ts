import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/node/sqlite/store.js';
import type { Clock } from '../../src/shared/clock.js';
import type { RateLimiterFactory } from '../../src/rate-limit/limiter.js';
import { listen } from './listen.js';

/*
 * What the shared test helpers (broker.ts, ci.ts, oidc-issuer.ts) need from
 * the runtime they run on. This is Node's: a SQLite file in a temporary
 * directory, loopback sockets. Inside workerd, vitest.config.ts resolves this
 * module to test/workerd/runtime.ts instead (D1, issuers without sockets), so
 * the test files listed there run unchanged on both.
 */

export const RUNTIME = 'node';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tokenbroker-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestDatabase {
  /** SQLite here; `sqlite` below is the same object, for tests that read the file directly. */
  store: SqliteStore;
  path: string;
  /** Runs SQL on the database as the test's own connection: rows for a query, none for a write. */
  sql(query: string, ...args: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** A fresh database, or the one already at `dir` (a broker's reopen). */
export async function openTestDatabase(dir: string): Promise<TestDatabase> {
  const path = join(dir, 'tokenbroker.db');
  const store = new SqliteStore(path);
  return {
    store,
    path,
    async sql(query, ...args) {
      const statement = store.db.prepare(query);
      if (statement.reader) return statement.all(...args) as Record<string, unknown>[];
      statement.run(...args);
      return [];
    },
    close: () => store.close(),
  };
}

/** Serves a fetch handler where a broker under test can reach it: a loopback port. */
export const serveFetch = listen;

/** How a broker under test reaches the servers serveFetch started: the real network. */
export const runtimeFetch: typeof fetch | undefined = undefined;

/** The rate limiter a broker under test counts with unless the test brings one: the app's default. */
export const runtimeLimiters = (_clock: Clock): RateLimiterFactory | undefined => undefined;
