import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import {
  auditRow as audit,
  deviceRow,
  storeFiles,
  tokenRow as token,
} from '../../helpers/store.js';

// Every write goes to the writer thread, reads stay on `store.db`: these tests
// use real database files and look at them through the main connection and
// through connections of their own.

const files = storeFiles();
const openStore = files.open;

/** A connection of the test's own: it sees only what is committed. */
function count(path: string, table: string, where = '1'): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number })
      .n;
  } finally {
    db.close();
  }
}

describe('SQLite writer thread', () => {
  it('commits the writes of one turn together, and settles each only after the commit', async () => {
    const { store, path } = openStore();
    const writes = Array.from({ length: 20 }, (_, i) =>
      store.recordIssue(token(`t${i}`), audit('token.issued', { jti: `t${i}` })),
    );
    // When the first promise settles, every row of the batch is committed:
    // visible to the main connection and to any other.
    const seen = await writes[0]!.then(async () => ({
      main: (store.db.prepare('SELECT count(*) AS n FROM issued_tokens').get() as { n: number }).n,
      other: count(path, 'issued_tokens'),
      token: await store.getToken('t19'),
    }));
    expect(seen).toEqual({ main: 20, other: 20, token: expect.objectContaining({ jti: 't19' }) });
    expect(await Promise.all(writes)).toEqual(Array(20).fill('issued'));
    expect(count(path, 'audit_events', "event = 'token.issued'")).toBe(20);
  });

  it('shares one transaction per batch: a failed COMMIT fails every write of the turn', async () => {
    const { store, path } = openStore();
    // A deferred foreign key is checked only at COMMIT: a 'poison' audit row
    // makes the whole transaction fail, after each savepoint succeeded.
    store.db.exec(`
      CREATE TABLE poison (parent TEXT REFERENCES issued_tokens (jti) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER poison_commit AFTER INSERT ON audit_events WHEN NEW.event = 'poison'
      BEGIN INSERT INTO poison VALUES ('no such token'); END;`);
    const sameTurn = [
      store.appendAudit(audit('before')),
      store.appendAudit(audit('poison')),
      store.claimOnce('k', 9999),
    ];
    const results = await Promise.allSettled(sameTurn);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/FOREIGN KEY/);
    expect(count(path, 'audit_events')).toBe(0);
    expect(count(path, 'replay_guard')).toBe(0);
    // The next batch is a transaction of its own.
    expect(await store.claimOnce('k', 9999)).toBe(true);
  });

  it('rolls back a failing write alone and rejects it with the SQLite error', async () => {
    const { store, path } = openStore();
    store.db.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON audit_events WHEN NEW.event = 'bad' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    const results = await Promise.allSettled([
      store.recordIssue(token('a'), audit('token.issued')),
      store.recordIssue(token('b'), audit('bad')), // its token row goes too
      store.appendAudit(audit('after')),
      store.recordIssue(token('a'), audit('token.issued')), // duplicate jti
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
    ]);
    const bad = (results[1] as PromiseRejectedResult).reason;
    expect(bad).toBeInstanceOf(Database.SqliteError);
    expect(bad).toMatchObject({ message: 'disk full', code: 'SQLITE_CONSTRAINT_TRIGGER' });
    expect((results[3] as PromiseRejectedResult).reason.message).toMatch(
      /UNIQUE constraint failed/,
    );
    expect(count(path, 'issued_tokens')).toBe(1);
    expect(count(path, 'audit_events')).toBe(2);
  });

  it('keeps the order of writes within a batch and across batches', async () => {
    const { store } = openStore();
    const order: string[] = [];
    const track = <T>(name: string, p: Promise<T>) => p.then((v) => (order.push(name), v));
    const first = [
      track('a1', store.claimOnce('a', 9999)),
      track('a2', store.claimOnce('a', 9999)),
    ];
    await nextTurn(); // the first batch is on its way: these queue behind it
    const second = track('b', store.claimOnce('a', 9999));
    await nextTurn();
    const third = track('c', store.claimOnce('c', 9999));
    expect(await Promise.all([...first, second, third])).toEqual([true, false, false, true]);
    expect(order).toEqual(['a1', 'a2', 'b', 'c']);
  });

  it('sends every write through the writer: the main connection changes nothing', async () => {
    const { store } = openStore();
    const changes = () =>
      (store.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const before = changes();
    const key = { kid: 'k1', alg: 'ES256', privateJwk: { d: 'x' }, publicJwk: { x: 'y' } };
    await store.addKey({ ...key, createdAt: 1 });
    await store.addKey({ ...key, kid: 'k2', createdAt: 2 }, 2);
    expect(await store.recordIssue(token('p'), audit('token.issued'))).toBe('issued');
    expect(await store.recordIssue(token('c', { parentJti: 'p' }), audit('token.issued'))).toBe(
      'issued',
    );
    const once = { key: 'ci:1', expiresAt: 9999 };
    expect(await store.recordIssue(token('r'), audit('token.issued'), once)).toBe('issued');
    expect(await store.recordIssue(token('r2'), audit('token.issued'), once)).toBe('replayed');
    expect(await store.revokeToken('p', 2000, audit('token.revoked'))).toEqual(['p', 'c']);
    expect(await store.recordIssue(token('g', { parentJti: 'c' }), audit('x'))).toBe(
      'parent_revoked',
    );
    expect(await store.revokeSubject('user:alice@example.com', 2000, audit('subject'))).toEqual([
      'r',
    ]);
    expect(await store.claimOnce('saml:1', 9999)).toBe(true);
    await store.appendAudit(audit('login'));
    const session = {
      idSha256: 's1',
      subject: 'user:alice@example.com',
      data: { csrf: 'c' },
      createdAt: 1,
      lastSeenAt: 1,
      expiresAt: 9999,
    };
    await store.createSession(session);
    await store.touchSession('s1', 50);
    expect(await store.getSession('s1')).toEqual({ ...session, lastSeenAt: 50 });
    await store.deleteSession('s1');
    expect(await store.getSession('s1')).toBeUndefined();
    await store.createSession({ ...session, idSha256: 's2' });
    expect(await store.deleteSubjectSessions('user:alice@example.com')).toBe(1);
    expect(await store.createDeviceCode(deviceRow('d1'))).toBe(true);
    expect(await store.pollDeviceCode('d1', 1001)).toMatchObject({ tooFast: false });
    const approval = { subject: 'user:a@example.com', approvedScopes: ['read:x/y'], at: 1002 };
    expect(
      await store.decideDeviceCode(
        'd1',
        { status: 'approved', ...approval, approverClaims: {} },
        audit('device.approved'),
      ),
    ).toBe(true);
    const redeem = { deviceCodeSha256: 'd1', at: 1003 };
    expect(await store.recordIssue(token('dv'), audit('token.issued'), redeem)).toBe('issued');
    expect(await store.pruneKeys(10_000)).toEqual(['k1']);
    expect(await store.prune(10_000, 0)).toEqual({
      replayGuards: 2,
      tokens: 4,
      sessions: 0,
      deviceCodes: 1,
      auditEvents: 8,
    });
    expect(changes()).toBe(before);
  });

  it('commits the queued writes on close, and survives reopening', async () => {
    const { store, path } = openStore();
    const queued = Array.from({ length: 10 }, (_, i) => store.claimOnce(`k${i}`, 9999));
    const closed = store.close();
    await expect(store.appendAudit(audit('late'))).rejects.toThrow(/closed/);
    await Promise.all([closed, store.close()]); // twice is fine
    expect(await Promise.all(queued)).toEqual(Array(10).fill(true));
    expect(count(path, 'replay_guard')).toBe(10);
    const reopened = new SqliteStore(path);
    try {
      expect(await reopened.claimOnce('k3', 9999)).toBe(false);
      expect(await reopened.claimOnce('k10', 9999)).toBe(true);
    } finally {
      await reopened.close();
    }
  });

  it('writes in-process for a :memory: database', async () => {
    const store = new SqliteStore(':memory:');
    files.later(() => store.close());
    store.db.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON audit_events WHEN NEW.event = 'bad' BEGIN SELECT RAISE(ABORT, 'no'); END",
    );
    const [ok, bad] = await Promise.allSettled([
      store.recordIssue(token('m'), audit('token.issued')),
      store.appendAudit(audit('bad')),
    ]);
    expect(ok).toEqual({ status: 'fulfilled', value: 'issued' });
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'no' } });
    expect(await store.getToken('m')).toMatchObject({ jti: 'm' });
  });

  it('lets a process that never closes the store exit once its writes are committed', async () => {
    // Bundled like dist/cli.js, with the writer next to it: better-sqlite3 must
    // resolve from the repository, hence a directory inside it.
    mkdirSync('test-output', { recursive: true });
    const dir = mkdtempSync(resolve('test-output', 'writer-exit-'));
    files.later(() => rmSync(dir, { recursive: true, force: true }));
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { SqliteStore } from ${JSON.stringify(resolve('src/node/sqlite/store.ts'))};
       const store = new SqliteStore(process.argv[2]!);
       console.log(await store.claimOnce('awaited', 9999));
       void store.appendAudit({ time: 1, event: 'not awaited', outcome: 'success' });`,
    );
    await build({
      entryPoints: [entry],
      outfile: join(dir, 'entry.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      loader: { '.sql': 'text' },
      logLevel: 'warning',
    });
    copyFileSync('src/node/sqlite/writer.mjs', join(dir, 'writer.mjs'));
    const path = join(dir, 'tb.db');
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'entry.mjs'), path], {
      timeout: 10_000,
    });
    expect(stdout.trim()).toBe('true');
    expect(count(path, 'replay_guard')).toBe(1);
    expect(count(path, 'audit_events')).toBe(1);
  });
});
