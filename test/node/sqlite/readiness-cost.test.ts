import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ManualClock } from '../../../src/shared/clock.js';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import { tempDir } from '../../helpers/broker.js';

/**
 * /readyz answers anyone, and a readiness check commits a write (an fsync
 * under synchronous=FULL). A loop of /readyz must not turn into a loop of
 * fsyncs competing with the exchanges' commits: a healthy answer is reused
 * for a moment, whoever asks.
 */
let cleanup: () => void = () => {};
let store: SqliteStore | undefined;
let watcher: Database.Database | undefined;
afterEach(async () => {
  watcher?.close();
  await store?.close();
  cleanup();
  store = watcher = undefined;
});

function open() {
  const t = tempDir();
  cleanup = t.cleanup;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const path = join(t.dir, 'tb.db');
  store = new SqliteStore(path, { clock });
  watcher = new Database(path, { readonly: true });
  // Changes whenever another connection has committed since this one last asked.
  const version = () => watcher!.pragma('data_version', { simple: true }) as number;
  return { store, clock, version };
}

describe('the readiness check', () => {
  it('commits one probe for many checks in a row, and probes again after a moment', async () => {
    const { store, clock, version } = open();
    expect(await store.readiness()).toEqual([]);
    const afterFirst = version();
    for (let i = 0; i < 20; i++) expect(await store.readiness()).toEqual([]);
    clock.advance(1);
    expect(await store.readiness()).toEqual([]);
    expect(version()).toBe(afterFirst);
    clock.advance(5);
    expect(await store.readiness()).toEqual([]);
    expect(version()).not.toBe(afterFirst);
  });
});
