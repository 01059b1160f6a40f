import { resolve } from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/compile.js';
import { SqliteStore } from '../store/sqlite.js';
import { KeyRing } from '../tokens/keys.js';

/** Opens the SQLite store named by the config and loads (or creates) the signing keys. */
export async function openBroker(
  config: Config,
  options: { cwd?: string; clock?: Clock } = {},
): Promise<{ store: SqliteStore; keys: KeyRing }> {
  const clock = options.clock ?? systemClock;
  const path =
    config.database === ':memory:'
      ? ':memory:'
      : resolve(options.cwd ?? process.cwd(), config.database);
  const store = new SqliteStore(path);
  const keys = new KeyRing(store, clock, { algorithm: config.tokens.algorithm });
  try {
    await keys.init();
  } catch (e) {
    await store.close();
    throw e;
  }
  return { store, keys };
}
