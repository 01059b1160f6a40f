import { join } from 'node:path';
import { afterEach } from 'vitest';
import { SqliteStore } from '../../src/node/sqlite/store.js';
import { tempDir } from './broker.js';

/**
 * Real store files for a test file: `open()` makes a fresh database in a
 * temporary directory; `later()` registers more cleanup. Everything is closed
 * and removed after each test, last opened first.
 */
export function storeFiles() {
  let cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });
  return {
    open(): { store: SqliteStore; path: string; dir: string } {
      const { dir, cleanup } = tempDir();
      const path = join(dir, 'tb.db');
      const store = new SqliteStore(path);
      cleanups.push(cleanup, () => store.close());
      return { store, path, dir };
    },
    later(cleanup: () => Promise<void> | void): void {
      cleanups.push(cleanup);
    },
  };
}

export { auditRow, deviceRow, tokenRow } from './rows.js';
