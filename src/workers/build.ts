import type { Hono } from 'hono';
import { createApp } from '../app.js';
import type { Config } from '../config/compile.js';
import { ConfigError, parseConfig } from '../config/load.js';
import { systemClock } from '../shared/clock.js';
import { BrokerError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { D1Store, type D1Like } from '../store/d1.js';
import { SecretKeys } from '../tokens/secret-keys.js';
import { d1Limiters } from './d1-limiter.js';
import { cacheApiJwks, defaultCache } from './jwks-cache.js';

/**
 * What the Worker is given (wrangler.toml's bindings and vars, and secrets):
 * typed here without Workers' types, which the core does not compile with.
 */
export interface WorkerEnv {
  /** The D1 database ([[d1_databases]] binding "DB"). */
  DB?: D1Like;
  /** The config file's content, YAML or JSON (a [vars] entry). */
  TOKENBROKER_CONFIG?: unknown;
  /** A private JWK, or a JSON array of them (a secret). */
  SIGNING_KEY?: unknown;
  /** Any other var or secret, which `${NAME}` in the config may name. */
  [name: string]: unknown;
}

/** The broker of one isolate, built from its env. */
export interface WorkerBroker {
  app: Hono;
  config: Config;
  store: D1Store;
  db: D1Like;
}

const HELP = 'see "Running on Cloudflare Workers" in the README';

/**
 * Builds the broker from the env, or throws a BrokerError `unavailable`
 * naming every problem found and what to do about each: the binding, the
 * variable, the config path, the secret. Secret values never appear in it.
 */
export async function buildBroker(env: WorkerEnv, logger: Logger): Promise<WorkerBroker> {
  const problems: string[] = [];
  const config = readConfig(env, problems);
  const keys = await readKeys(env, problems);
  const db = env.DB;
  if (!isD1(db)) {
    problems.push(
      'the D1 binding DB is missing: add a [[d1_databases]] entry with binding = "DB" to wrangler.toml',
    );
  }
  if (!config || !keys || !isD1(db) || problems.length) {
    throw new BrokerError(
      'unavailable',
      `the broker is not configured: ${problems.join('; ')} (${HELP})`,
    );
  }
  const clock = systemClock;
  const store = new D1Store(db);
  const cache = defaultCache();
  const app = createApp({
    config,
    store,
    keys,
    clock,
    logger,
    // Looked up at each call, not bound once: the runtime's fetch as it is when the request runs.
    fetch: (input, init) => fetch(input, init),
    clientAddress: (c) => c.req.header('CF-Connecting-IP') ?? null,
    rateLimiter: d1Limiters(db, clock),
    jwksCache: cache && cacheApiJwks(cache),
  });
  return { app, config, store, db };
}

function readConfig(env: WorkerEnv, problems: string[]): Config | undefined {
  const raw = env.TOKENBROKER_CONFIG;
  if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) {
    problems.push(
      'TOKENBROKER_CONFIG is not set: put the config (YAML or JSON) in it under [vars] in wrangler.toml',
    );
    return undefined;
  }
  // A TOML table under [vars] reaches the Worker as an object: JSON is YAML.
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  const vars = stringVars(env);
  try {
    return parseConfig(text, { source: 'TOKENBROKER_CONFIG', env: vars });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // One line per problem would not fit an OAuth error description: each is `path: message`.
    const issues = e.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    problems.push(withoutValues(`TOKENBROKER_CONFIG: ${issues.join('; ')}`, text, vars));
    return undefined;
  }
}

async function readKeys(env: WorkerEnv, problems: string[]): Promise<SecretKeys | undefined> {
  const secret = env.SIGNING_KEY;
  if (secret !== undefined && typeof secret !== 'string') {
    problems.push(
      'SIGNING_KEY is not text: set it as a secret with `wrangler secret put SIGNING_KEY`, not as a table under [vars]',
    );
    return undefined;
  }
  try {
    return await SecretKeys.parse(secret);
  } catch (e) {
    if (!(e instanceof BrokerError)) throw e;
    problems.push(e.message);
    return undefined;
  }
}

/** The Worker's string vars and secrets: what `${NAME}` may be filled from. */
function stringVars(env: WorkerEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/**
 * A config message quotes a value it refuses, and that value may have come
 * from a secret through `${NAME}`: each such value is shown as its `${NAME}`
 * instead. (Values shorter than 4 characters are left: they hide nothing, and
 * replacing them would garble the message.)
 */
function withoutValues(message: string, text: string, vars: Record<string, string>): string {
  let out = message;
  for (const [, name] of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    const value = vars[name!];
    if (value !== undefined && value.length >= 4) out = out.replaceAll(value, `\${${name}}`);
  }
  return out;
}

function isD1(db: unknown): db is D1Like {
  return (
    typeof db === 'object' &&
    db !== null &&
    typeof (db as D1Like).prepare === 'function' &&
    typeof (db as D1Like).batch === 'function'
  );
}
