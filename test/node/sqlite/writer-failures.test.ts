import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/store/migrations.js';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import { tempDir } from '../../helpers/broker.js';
import { auditRow as audit, storeFiles, tokenRow as token } from '../../helpers/store.js';

// What happens when the writer thread goes away. There is no public handle on
// the thread: these tests reach the store's private `worker` field (the live
// writer, or undefined), and end it with Worker.terminate(), as a crash or an
// out-of-memory kill would. Everything else is real: files, threads, SQLite.

const files = storeFiles();
const openStore = files.open;

const writerOf = (store: SqliteStore): Worker | undefined =>
  (store as unknown as { writes: { worker: Worker | undefined } }).writes.worker;

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
    const lost = store.claimOnce('lost', 9999);
    await nextTurn(); // its batch is posted to a writer that is still starting
    const writer = writerOf(store)!;
    const queued = store.claimOnce('queued', 9999); // never reaches that writer
    await writer.terminate();
    const [a, b] = await Promise.allSettled([lost, queued]);
    expect(a).toMatchObject({ status: 'rejected', reason: { message: /writer thread exited/ } });
    expect(b).toEqual({ status: 'fulfilled', value: true });
    expect(keys(path)).toEqual(['queued']);
    expect(writerOf(store)).not.toBe(writer);
  });

  it('starts a new writer for the next write after one died while idle', async () => {
    const { store, path } = openStore();
    expect(await store.claimOnce('before', 9999)).toBe(true);
    const writer = writerOf(store)!;
    await writer.terminate();
    expect(await store.claimOnce('after', 9999)).toBe(true);
    expect(await store.claimOnce('before', 9999)).toBe(false);
    expect(writerOf(store)).not.toBe(writer);
    expect(keys(path)).toEqual(['after', 'before']);
  });

  it('closes, without hanging, when the writer dies with a batch in flight', async () => {
    const { store } = openStore();
    const write = store.claimOnce('k', 9999);
    await nextTurn();
    const closed = store.close();
    await writerOf(store)!.terminate();
    await expect(write).rejects.toThrow(/writer thread exited/);
    await closed;
    expect(store.db.open).toBe(false);
  });

  it("ignores a reply from a writer it gave up on: it cannot settle the next writer's batch", async () => {
    const { store } = openStore();
    expect(await store.claimOnce('k', 9999)).toBe(true);
    const old = writerOf(store)!;
    files.later(() => old.terminate().then(() => undefined));
    // Node reports an uncaught exception in the thread as 'error' and exits it
    // afterwards; until then, a reply it had posted can still be delivered.
    // Both events are emitted here by hand, in that order, on the real Worker.
    old.emit('error', new Error('simulated: the writer threw'));
    const next = store.claimOnce('k', 9999); // already claimed: false
    await nextTurn(); // posted to a new writer, not committed yet
    expect(writerOf(store)).not.toBe(old);
    old.emit('message', { results: [{ value: true }] });
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
