import { applyD1Migrations, env, reset } from 'cloudflare:test';
import { D1Store } from '../../src/store/d1.js';
import { d1Limiters } from '../../src/workers/d1-limiter.js';
import type { Clock } from '../../src/shared/clock.js';
import type { RateLimiterFactory } from '../../src/rate-limit/limiter.js';

/*
 * test/helpers/runtime.ts as workerd provides it: vitest.config.ts resolves
 * the helpers' import of it here in the workerd project, so that the shared
 * test files listed there build their brokers on D1 with the same helpers.
 * The helpers' types are Node's (a SqliteStore): the shared files use only
 * the Store interface, which D1Store implements.
 */

export const RUNTIME = 'workerd';

let dirs = 0;

/** No file system: a broker's "directory" is a name, so that reopening finds the same database. */
export function tempDir(): { dir: string; cleanup: () => void } {
  return { dir: `d1-${++dirs}`, cleanup: () => {} };
}

const opened = new Set<string>();

/**
 * The test file's one D1 (env.DB), emptied and migrated for each new broker;
 * a broker reopened on its directory finds its rows. Two brokers of one test
 * that are not reopenings would share it: the shared files have none.
 */
export async function openTestDatabase(dir: string) {
  if (!opened.has(dir)) {
    opened.add(dir);
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  }
  return {
    store: new D1Store(env.DB),
    path: dir,
    sql: async (query: string, ...args: unknown[]) =>
      (
        await env.DB.prepare(query)
          .bind(...args)
          .all<Record<string, unknown>>()
      ).results,
    close: async () => {},
  };
}

/** Servers without sockets: each handler answers at a loopback origin only runtimeFetch knows. */
const hosts = new Map<string, (req: Request) => Response | Promise<Response>>();
let ports = 40000;

export async function serveFetch(handler: (req: Request) => Response | Promise<Response>) {
  const url = `http://127.0.0.1:${++ports}`;
  hosts.set(url, handler);
  return { url, close: async () => void hosts.delete(url) };
}

/** The broker's fetch: to a handler serveFetch registered, else the real network. */
export const runtimeFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const handler = hosts.get(new URL(request.url).origin);
  return handler ? handler(request) : fetch(request);
};

/** The Worker's own limiter: windows in D1, shared by every isolate, on the test's clock. */
export const runtimeLimiters = (clock: Clock): RateLimiterFactory | undefined =>
  d1Limiters(env.DB, clock);
