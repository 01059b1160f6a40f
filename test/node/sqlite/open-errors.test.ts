import Database from 'better-sqlite3';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import { tempDir } from '../../helpers/broker.js';
import { cannotMount, smallFilesystem } from './tmpfs.js';

// What an operator sees when the broker cannot use its database at start-up:
// every message names the file and says what to do.

let dir: string;
let cleanup: () => void = () => {};
afterEach(() => cleanup());

function fresh(): string {
  ({ dir, cleanup } = tempDir());
  return join(dir, 'tb.db');
}

function openError(path: string, options = {}): Error {
  try {
    new SqliteStore(path, options);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${path} opened`);
}

const whyNot = cannotMount();

describe('start-up errors of the database', () => {
  it('names a file that is not a database and says to point `database` elsewhere', () => {
    const path = fresh();
    writeFileSync(path, 'not a database, just some text\n'.repeat(200));
    const error = openError(path);
    expect(error.name).toBe('DatabaseError');
    expect(error.message).toMatch(
      new RegExp(`^${path} is not a SQLite database \\(.+\\): point \`database\``),
    );
  });

  it('names the folder it cannot create and says to set `database` to a writable place', () => {
    const path = fresh();
    writeFileSync(join(dir, 'afile'), 'x');
    const inside = join(dir, 'afile', 'data', 'tb.db');
    const error = openError(inside);
    expect(error.message).toContain(`cannot open the database ${inside}`);
    expect(error.message).toContain('set `database` in the config');
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a database written by a newer version, naming both versions', async () => {
    const path = fresh();
    await new SqliteStore(path).close();
    const other = new Database(path);
    other.exec("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')");
    other.close();
    const error = openError(path);
    expect(error.message).toMatch(
      new RegExp(
        `^the database ${path} was written by a newer tokenbroker \\(schema version 99; this one knows up to \\d+\\): run that newer version`,
      ),
    );
  });

  it('names a database locked by another process and says to stop it', async () => {
    const path = fresh();
    await new SqliteStore(path).close();
    const other = new Database(path);
    try {
      // An exclusive-mode writer keeps every lock until it closes, readers included.
      other.pragma('locking_mode = EXCLUSIVE');
      other.exec('BEGIN EXCLUSIVE; COMMIT;');
      const error = openError(path); // waits out busy_timeout (5 s)
      expect(error.message).toMatch(
        new RegExp(`^the database ${path} is locked by another process .*: stop the other process`),
      );
    } finally {
      other.close();
    }
  }, 15_000);

  it('refuses to create a missing database when asked not to, creating no file', () => {
    const path = fresh();
    mkdirSync(join(dir, 'data'));
    const missing = join(dir, 'data', 'tb.db');
    const error = openError(missing, { create: false });
    expect(error.message).toBe(`no database at ${missing}: is --config the broker's config?`);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(path)).toBe(false);
  });

  it.skipIf(whyNot !== undefined)(
    `names an unwritable folder and says the broker must write it ${whyNot ?? ''}`,
    async () => {
      const fs = smallFilesystem('1m');
      try {
        const existing = join(fs.dir, 'tb.db');
        await new SqliteStore(existing).close();
        fs.remount('ro'); // root ignores file modes: a read-only mount is what stops it
        const created = join(fs.dir, 'new.db');
        for (const path of [existing, created]) {
          const error = openError(path);
          expect(error.message).toMatch(
            new RegExp(
              `^cannot open the database ${path} for writing \\(.+\\): the broker needs to write the file and its folder ${fs.dir}`,
            ),
          );
        }
        expect(existsSync(created)).toBe(false);
      } finally {
        fs.unmount();
      }
    },
  );
});
