import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/store/migrations.js';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import { tempDir } from '../../helpers/broker.js';
import { auditRow as audit, storeFiles, tokenRow as token } from '../../helpers/store.js';

// What happens when the writer thread goes away. Everything is real: files,
// threads, SQLite. Two public seams make each case certain rather than likely:
// - Node announces every Worker this process creates (process 'worker'); only
//   the store creates any here, so the tests get its writer threads without
//   reaching into the store, and end one with Worker.terminate(), as a crash
//   or an out-of-memory kill would.
// - A connection of the test's own holds SQLite's write lock (as a sqlite3
//   shell or another process can): until it lets go, no writer can commit, so
//   a batch posted meanwhile is in flight and uncommitted, however the threads
//   are scheduled. It lets go only after terminate(), and a terminated thread
//   runs no more JavaScript, so that batch is never committed.

const files = storeFiles();
const openStore = files.open;

/** The writer threads started from now on, in order, and the next one to start. */
function watchWriters(): { started: Worker[]; next: () => Promise<Worker> } {
  const started: Worker[] = [];
  const onWorker = (worker: Worker) => started.push(worker);
  process.on('worker', onWorker);
  files.later(() => void process.off('worker', onWorker));
  // Emitted on the tick after the Worker is made, by then its first batch is posted.
  const next = () => new Promise<Worker>((resolve) => process.once('worker', resolve));
  return { started, next };
}

/** Takes the write lock on the file: no writer commits until release(). */
function holdWriteLock(path: string): { release: () => void } {
  const db = new Database(path);
  files.later(() => void (db.open && db.close()));
  db.exec('BEGIN IMMEDIATE');
  return {
    release: () => {
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

function keys(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare('SELECT key FROM replay_guard ORDER BY key')
      .all()
      .map((r) => (r as { key: string }).key);
  } finally {
    db.close();
  }
}

describe('SQLite writer thread failures', () => {
  it('fails only the batch a dead writer had; writes queued behind it go to a new writer', async () => {
    const { store, path } = openStore();
    const writers = watchWriters();
    const lock = holdWriteLock(path);
    const started = writers.next();
    const lost = store.claimOnce('lost', 9999);
    const writer = await started; // with the batch of 'lost', which it cannot commit
    const queued = store.claimOnce('queued', 9999); // never reaches that writer
    const exited = writer.terminate();
    lock.release();
    await exited;
    const [a, b] = await Promise.allSettled([lost, queued]);
    expect(a).toMatchObject({ status: 'rejected', reason: { message: /writer thread exited/ } });
    expect(b).toEqual({ status: 'fulfilled', value: true });
    // 'lost' was not committed by the dead writer, nor sent again to the new one.
    expect(keys(path)).toEqual(['queued']);
    expect(writers.started).toHaveLength(2);
  });

  it('starts a new writer for the next write after one died while idle', async () => {
    const { store, path } = openStore();
    const writers = watchWriters();
    expect(await store.claimOnce('before', 9999)).toBe(true);
    expect(writers.started).toHaveLength(1);
    await writers.started[0]!.terminate();
    expect(await store.claimOnce('after', 9999)).toBe(true);
    expect(await store.claimOnce('before', 9999)).toBe(false);
    expect(writers.started).toHaveLength(2);
    expect(keys(path)).toEqual(['after', 'before']);
  });

  it('closes, without hanging, when the writer dies with a batch in flight', async () => {
    const { store, path } = openStore();
    const writers = watchWriters();
    const lock = holdWriteLock(path);
    const started = writers.next();
    const write = store.claimOnce('k', 9999);
    const writer = await started; // with the batch of 'k', which it cannot commit
    const closed = store.close(); // waits for that batch to settle
    const exited = writer.terminate();
    lock.release();
    await exited;
    await expect(write).rejects.toThrow(/writer thread exited/);
    await closed;
    expect(store.db.open).toBe(false);
    expect(keys(path)).toEqual([]);
  });

  it("ignores a reply from a writer it gave up on: it cannot settle the next writer's batch", async () => {
    const { store, path } = openStore();
    const writers = watchWriters();
    expect(await store.claimOnce('k', 9999)).toBe(true);
    const old = writers.started[0]!;
    files.later(() => old.terminate().then(() => undefined));
    // Node reports an uncaught exception in the thread as 'error' and exits it
    // afterwards; until then, a reply it had posted can still be delivered.
    // Both events are emitted here by hand, in that order, on the real Worker.
    old.emit('error', new Error('simulated: the writer threw'));
    const lock = holdWriteLock(path);
    const started = writers.next();
    const next = store.claimOnce('k', 9999); // already claimed: false
    const fresh = await started; // with the batch of `next`, which it cannot commit
    expect(fresh).not.toBe(old);
    old.emit('message', { results: [{ value: true }] });
    lock.release();
    expect(await next).toBe(false);
  });

  it('writes to the database it was opened on, even after the working directory changes', async () => {
    const { dir, cleanup } = tempDir();
    files.later(cleanup);
    const cwd = process.cwd();
    process.chdir(dir);
    let store: SqliteStore;
    try {
      store = new SqliteStore('tb.db'); // relative, as a library user may pass it
      files.later(() => store.close());
      mkdirSync('elsewhere');
      process.chdir('elsewhere');
      expect(await store.claimOnce('k', 9999)).toBe(true); // the writer starts now
    } finally {
      process.chdir(cwd);
    }
    expect(keys(join(dir, 'tb.db'))).toEqual(['k']);
    expect(existsSync(join(dir, 'elsewhere', 'tb.db'))).toBe(false);
  });
});

describe('migration 4 (partial parent_jti index) on an existing database', () => {
  it('replaces the index and revocation still walks the tree through it', async () => {
    const { dir, cleanup } = tempDir();
    files.later(cleanup);
    const path = join(dir, 'tb.db');
    // A database as the previous release left it: migrations 1-3, with data.
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, m.name);
    }
    const insert = old.prepare(
      `INSERT INTO issued_tokens (jti, subject, scopes, audience, client_id, source, kid, parent_jti,
         issued_at, expires_at, token_sha256) VALUES (?, 's', '[]', 'a', 'c', 'web', 'k1', ?, 1, 5000, 'h')`,
    );
    insert.run('root', null);
    insert.run('child', 'root');
    insert.run('grandchild', 'child');
    insert.run('other', null);
    old.close();

    const store = new SqliteStore(path);
    files.later(() => store.close());
    const index = store.db
      .prepare("SELECT sql FROM sqlite_master WHERE name = 'issued_tokens_parent'")
      .get() as { sql: string };
    expect(index.sql).toMatch(/WHERE parent_jti IS NOT NULL/);
    const plan = store.db
      .prepare(
        `EXPLAIN QUERY PLAN WITH RECURSIVE tree(jti) AS (
           SELECT jti FROM issued_tokens WHERE jti = ?
           UNION SELECT t.jti FROM issued_tokens t JOIN tree ON t.parent_jti = tree.jti)
         SELECT jti FROM tree`,
      )
      .all('root')
      .map((r) => (r as { detail: string }).detail);
    expect(plan.join('\n')).toMatch(/USING (COVERING )?INDEX issued_tokens_parent/);
    expect(await store.revokeToken('root', 2000, audit('token.revoked'))).toEqual([
      'root',
      'child',
      'grandchild',
    ]);
    expect(
      await store.recordIssue(
        token('late', { parentJti: 'grandchild', source: 'exchange' }),
        audit('token.issued'),
      ),
    ).toBe('parent_revoked');
    expect((await store.getToken('other'))!.revokedAt).toBeNull();
  });
});
