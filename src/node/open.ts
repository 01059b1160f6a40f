import { resolve } from 'node:path';
import { systemClock, type Clock } from '../shared/clock.js';
import type { Config } from '../config/compile.js';
import { SqliteStore } from './sqlite/store.js';
import { KeyRing } from '../tokens/keys.js';

/**
 * The database file a config names. loadConfigFile has already made it
 * absolute (relative to the config file); what is still relative (the bundled
 * example's, or a config built in code) is under `cwd`.
 */
export function databasePath(config: Config, cwd: string = process.cwd()): string {
  return config.database === ':memory:' ? ':memory:' : resolve(cwd, config.database);
}

/**
 * For the server: opens the SQLite store named by the config, creating it on
 * the first run, and loads (or creates) the signing keys. Refuses a database
 * whose schema differs from the migrations' (a DatabaseError names the file).
 */
export async function openBroker(
  config: Config,
  options: { cwd?: string; clock?: Clock } = {},
): Promise<{ store: SqliteStore; keys: KeyRing }> {
  const clock = options.clock ?? systemClock;
  const store = new SqliteStore(databasePath(config, options.cwd), { clock });
  const keys = new KeyRing(store, clock, { algorithm: config.tokens.algorithm });
  try {
    await keys.init();
  } catch (e) {
    await store.close();
    throw e;
  }
  return { store, keys };
}

/**
 * For the operator's commands (`audit`, `keys`, `revoke`): an existing
 * database only. A missing file means a wrong --config, and creating one
 * would answer "revoked 0 tokens" from an empty database during an incident;
 * no key ring either, which would create a signing key. A dropped index or
 * trigger is in `store.schemaProblems` instead of refused: investigating and
 * revoking must still work on a tampered database.
 */
export function openExistingStore(config: Config, options: { cwd?: string } = {}): SqliteStore {
  return new SqliteStore(databasePath(config, options.cwd), {
    create: false,
    tolerateSchemaProblems: true,
  });
}
