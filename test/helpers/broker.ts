import { stringify } from 'yaml';
import type { Hono } from 'hono';
import { createApp, type AppOptions } from '../../src/app.js';
import type { CryptoBackend } from '../../src/jws/backend.js';
import { ManualClock } from '../../src/shared/clock.js';
import type { Config } from '../../src/config/compile.js';
import { parseConfig } from '../../src/config/load.js';
import type { SqliteStore } from '../../src/node/sqlite/store.js';
import { KeyRing } from '../../src/tokens/keys.js';
import { Minter, type MintOutcome, type MintedToken } from '../../src/tokens/mint.js';
import type { Logger } from '../../src/shared/log.js';
import type { RateLimiterFactory } from '../../src/rate-limit/limiter.js';
import { openTestDatabase, runtimeFetch, runtimeLimiters, tempDir } from './runtime.js';

export { tempDir } from './runtime.js';

export const HUB_SECRET = 'hub-secret-for-tests';

/** A config object for tests; `extra` is merged over the base before parsing. */
export function testConfigObject(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer: 'https://broker.test',
    tokens: { audience: 'https://hub.test', default_ttl: '15m', max_ttl: '1h', algorithm: 'ES256' },
    resource_servers: [{ client_id: 'hub', client_secret_sha256: '${HUB_SECRET_SHA256}' }],
    rate_limit: false,
    ...extra,
  };
}

export async function hubSecretSha256(): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(HUB_SECRET));
  return Buffer.from(d).toString('hex');
}

export async function testConfig(extra: Record<string, unknown> = {}): Promise<Config> {
  return parseConfig(stringify(testConfigObject(extra)), {
    env: { HUB_SECRET_SHA256: await hubSecretSha256() },
  });
}

export interface TestBroker {
  app: Hono;
  config: Config;
  store: SqliteStore;
  keys: KeyRing;
  clock: ManualClock;
  minter: Minter;
  dbPath: string;
  dir: string;
  /** SQL on the database, on either runtime: rows for a query, none for a write. */
  sql(query: string, ...args: unknown[]): Promise<Record<string, unknown>[]>;
  /** Closes the database (the temp dir stays until cleanup). */
  close(): Promise<void>;
  cleanup(): Promise<void>;
  /** Reopens the same database file with a fresh store, key ring and app. */
  reopen(): Promise<TestBroker>;
}

export async function startBroker(
  options: {
    config?: Config;
    clock?: ManualClock;
    dir?: string;
    fetch?: typeof fetch;
    logger?: Logger;
    /** Signature primitives: the core's WebCrypto unless a test brings node:crypto. */
    crypto?: CryptoBackend;
    /** Counts for rate_limit: the app's in-memory windows on `clock` unless a test shares one. */
    rateLimiter?: RateLimiterFactory;
    /** The caller's address as a runtime would report it; none (null) unless a test says. */
    clientAddress?: AppOptions['clientAddress'];
  } = {},
): Promise<TestBroker> {
  const { dir, cleanup } = options.dir ? { dir: options.dir, cleanup: () => {} } : tempDir();
  const config = options.config ?? (await testConfig());
  const clock = options.clock ?? new ManualClock(Date.now());
  const db = await openTestDatabase(dir);
  const { store, path: dbPath } = db;
  const keys = new KeyRing(store, clock, { algorithm: config.tokens.algorithm });
  await keys.init();
  const app = createApp({
    config,
    store,
    keys,
    clock,
    fetch: options.fetch ?? runtimeFetch,
    logger: options.logger,
    crypto: options.crypto,
    rateLimiter: options.rateLimiter ?? runtimeLimiters(clock),
    clientAddress: options.clientAddress,
  });
  const minter = new Minter({
    store,
    keys,
    clock,
    issuer: config.issuer,
    audience: config.tokens.audience,
  });
  const broker: TestBroker = {
    app,
    config,
    store,
    keys,
    clock,
    minter,
    dbPath,
    dir,
    sql: db.sql,
    close: () => db.close(),
    async cleanup() {
      await db.close();
      cleanup();
    },
    async reopen() {
      await db.close();
      return startBroker({ ...options, config, clock, dir });
    },
  };
  return broker;
}

/** Mints a token straight from the core, as the CI exchange or the web page would. */
export function mintFor(
  b: TestBroker,
  scopes: string[],
  ttlSeconds = 900,
  subject = 'user:alice@example.com',
) {
  return issued(
    b.minter.mint({
      subject,
      scopes,
      ttlSeconds,
      clientId: 'test',
      source: 'web',
      audit: { source: 'web' },
    }),
  );
}

export function form(params: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  };
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export async function introspect(b: TestBroker, token: string): Promise<Record<string, unknown>> {
  const res = await b.app.request('/introspect', {
    ...form({ token }),
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: basic('hub', HUB_SECRET),
    },
  });
  if (res.status !== 200) throw new Error(`introspect answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

export const EXCHANGE = {
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  access: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
};

/** The token of a mint the store must accept (a test's own setup). */
export async function issued(outcome: Promise<MintOutcome>): Promise<MintedToken> {
  const o = await outcome;
  if (!o.issued) throw new Error(`the store refused the mint: ${o.refused}`);
  return o.issued;
}
