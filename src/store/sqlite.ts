import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { setImmediate } from 'node:timers';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations.js';
import type {
  AuditEvent,
  AuditFilter,
  IssuedToken,
  NewKey,
  IssueOutcome,
  OneTimeKey,
  PruneCounts,
  Store,
  StoredAuditEvent,
  StoredKey,
  StoredSession,
} from './types.js';

type Row = Record<string, unknown>;

/** Applies every migration newer than the database's version, each in its own transaction. */
export function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)',
  );
  const applied = new Set(
    db
      .prepare('SELECT version FROM schema_migrations')
      .all()
      .map((r) => (r as Row).version as number),
  );
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(
        m.version,
        m.name,
      );
    })();
  }
}

const tokenFromRow = (r: Row): IssuedToken => ({
  jti: r.jti as string,
  subject: r.subject as string,
  scopes: JSON.parse(r.scopes as string) as string[],
  audience: r.audience as string,
  clientId: r.client_id as string,
  source: r.source as IssuedToken['source'],
  kid: r.kid as string,
  parentJti: (r.parent_jti as string | null) ?? null,
  issuedAt: r.issued_at as number,
  expiresAt: r.expires_at as number,
  revokedAt: (r.revoked_at as number | null) ?? null,
  tokenSha256: r.token_sha256 as string,
});

const auditFromRow = (r: Row): StoredAuditEvent => ({
  id: r.id as number,
  time: r.time as number,
  event: r.event as string,
  outcome: r.outcome as StoredAuditEvent['outcome'],
  subject: r.subject as string | null,
  source: r.source as string | null,
  policy: r.policy as string | null,
  scopes: r.scopes ? (JSON.parse(r.scopes as string) as string[]) : null,
  reason: r.reason as string | null,
  clientAddress: r.client_address as string | null,
  userAgent: r.user_agent as string | null,
  tokenSha256: r.token_sha256 as string | null,
  jti: r.jti as string | null,
  detail: r.detail ? (JSON.parse(r.detail as string) as Record<string, unknown>) : null,
});

/**
 * The SQLite store (Node). WAL with synchronous=FULL: a token is returned only
 * after its rows are committed, and "committed" must survive a power cut, not
 * just a crash of this process.
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly stmts;
  private pending: Array<{
    fn: () => unknown;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  }> = [];

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    if (path !== ':memory:') chmodSync(path, 0o600); // it holds the private signing keys
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    const db = this.db;
    this.stmts = {
      listKeys: db.prepare(
        `SELECT k.*, (SELECT max(t.expires_at) FROM issued_tokens t WHERE t.kid = k.kid) AS last_expiry
         FROM signing_keys k ORDER BY k.created_at DESC, k.rowid DESC`,
      ),
      insertKey: db.prepare(
        `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?, ?)`,
      ),
      retireCurrent: db.prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL'),
      prunableKeys: db.prepare(
        `SELECT kid FROM signing_keys k WHERE retired_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM issued_tokens t WHERE t.kid = k.kid AND t.expires_at > ?)`,
      ),
      deleteKey: db.prepare('DELETE FROM signing_keys WHERE kid = ?'),
      insertToken: db.prepare(
        `INSERT INTO issued_tokens (jti, subject, scopes, audience, client_id, source, kid, parent_jti,
           issued_at, expires_at, revoked_at, token_sha256)
         VALUES (@jti, @subject, @scopes, @audience, @clientId, @source, @kid, @parentJti,
           @issuedAt, @expiresAt, @revokedAt, @tokenSha256)`,
      ),
      getToken: db.prepare('SELECT * FROM issued_tokens WHERE jti = ?'),
      // The token and every token narrowed from it, however deep.
      revokeTree: db.prepare(
        `WITH RECURSIVE tree(jti) AS (
           SELECT jti FROM issued_tokens WHERE jti = ?
           UNION SELECT t.jti FROM issued_tokens t JOIN tree ON t.parent_jti = tree.jti)
         UPDATE issued_tokens SET revoked_at = ? WHERE jti IN (SELECT jti FROM tree)
           AND revoked_at IS NULL RETURNING jti`,
      ),
      revokeSubject: db.prepare(
        `UPDATE issued_tokens SET revoked_at = ? WHERE subject = ? AND revoked_at IS NULL
           AND expires_at > ? RETURNING jti`,
      ),
      insertAudit: db.prepare(
        `INSERT INTO audit_events (time, event, outcome, subject, source, policy, scopes, reason,
           client_address, user_agent, token_sha256, jti, detail)
         VALUES (@time, @event, @outcome, @subject, @source, @policy, @scopes, @reason,
           @clientAddress, @userAgent, @tokenSha256, @jti, @detail)`,
      ),
      claim: db.prepare('INSERT OR IGNORE INTO replay_guard (key, expires_at) VALUES (?, ?)'),
      pruneReplay: db.prepare('DELETE FROM replay_guard WHERE expires_at <= ?'),
      insertSession: db.prepare(
        `INSERT INTO sessions (id_sha256, subject, data, created_at, last_seen_at, expires_at)
         VALUES (@idSha256, @subject, @data, @createdAt, @lastSeenAt, @expiresAt)`,
      ),
      getSession: db.prepare('SELECT * FROM sessions WHERE id_sha256 = ?'),
      touchSession: db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_sha256 = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id_sha256 = ?'),
      deleteSubjectSessions: db.prepare('DELETE FROM sessions WHERE subject = ?'),
      pruneTokens: db.prepare('DELETE FROM issued_tokens WHERE expires_at <= ?'),
      pruneSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
      pruneAudit: db.prepare('DELETE FROM audit_events WHERE time < ?'),
    };
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.pending.length && this.db.open) this.flush(); // settle queued writes first
    if (this.db.open) this.db.close();
  }

  async listKeys(): Promise<StoredKey[]> {
    return this.stmts.listKeys.all().map((row) => {
      const r = row as Row;
      return {
        kid: r.kid as string,
        alg: r.alg as string,
        privateJwk: JSON.parse(r.private_jwk as string),
        publicJwk: JSON.parse(r.public_jwk as string),
        createdAt: r.created_at as number,
        retiredAt: (r.retired_at as number | null) ?? null,
        lastTokenExpiry: (r.last_expiry as number | null) ?? null,
      };
    });
  }

  async addKey(key: NewKey, retireCurrentAt?: number): Promise<void> {
    this.db.transaction(() => {
      if (retireCurrentAt !== undefined) this.stmts.retireCurrent.run(retireCurrentAt);
      this.stmts.insertKey.run(
        key.kid,
        key.alg,
        JSON.stringify(key.privateJwk),
        JSON.stringify(key.publicJwk),
        key.createdAt,
      );
    })();
  }

  async pruneKeys(now: number): Promise<string[]> {
    return this.db.transaction(() => {
      const kids = this.stmts.prunableKeys.all(now).map((r) => (r as Row).kid as string);
      for (const kid of kids) this.stmts.deleteKey.run(kid);
      return kids;
    })();
  }

  async recordIssue(
    token: IssuedToken,
    audit: AuditEvent,
    once?: OneTimeKey,
  ): Promise<IssueOutcome> {
    return this.write((): IssueOutcome => {
      if (token.parentJti !== null) {
        const parent = this.stmts.getToken.get(token.parentJti) as Row | undefined;
        if (!parent || parent.revoked_at !== null) return 'parent_revoked';
      }
      if (once && this.stmts.claim.run(once.key, once.expiresAt).changes !== 1) return 'replayed';
      this.stmts.insertToken.run({ ...token, scopes: JSON.stringify(token.scopes) });
      this.insertAudit(audit);
      return 'issued';
    });
  }

  async getToken(jti: string): Promise<IssuedToken | undefined> {
    const r = this.stmts.getToken.get(jti) as Row | undefined;
    return r && tokenFromRow(r);
  }

  async revokeToken(jti: string, at: number, audit: AuditEvent): Promise<string[]> {
    return this.db.transaction(() => {
      const jtis = this.stmts.revokeTree.all(jti, at).map((r) => (r as Row).jti as string);
      if (jtis.length) this.insertAudit({ ...audit, detail: { ...audit.detail, revoked: jtis } });
      return jtis;
    })();
  }

  async revokeSubject(subject: string, at: number, audit: AuditEvent): Promise<string[]> {
    return this.db.transaction(() => {
      const jtis = this.stmts.revokeSubject
        .all(at, subject, at)
        .map((r) => (r as Row).jti as string);
      this.insertAudit({ ...audit, detail: { ...audit.detail, revoked: jtis } });
      return jtis;
    })();
  }

  async listTokens(filter: {
    subject?: string;
    activeAt?: number;
    limit?: number;
  }): Promise<IssuedToken[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.subject !== undefined) {
      where.push('subject = ?');
      args.push(filter.subject);
    }
    if (filter.activeAt !== undefined) {
      where.push('revoked_at IS NULL AND expires_at > ?');
      args.push(filter.activeAt);
    }
    const sql = `SELECT * FROM issued_tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY issued_at DESC, rowid DESC LIMIT ?`;
    return this.db
      .prepare(sql)
      .all(...args, filter.limit ?? 1000)
      .map((r) => tokenFromRow(r as Row));
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    return this.write(() => this.insertAudit(event));
  }

  async queryAudit(filter: AuditFilter): Promise<StoredAuditEvent[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      where.push(sql);
      args.push(v);
    };
    if (filter.since !== undefined) add('time >= ?', filter.since);
    if (filter.subject !== undefined) add('subject = ?', filter.subject);
    if (filter.outcome !== undefined) add('outcome = ?', filter.outcome);
    if (filter.event !== undefined) add('event = ?', filter.event);
    const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id LIMIT ?`;
    return this.db
      .prepare(sql)
      .all(...args, filter.limit ?? 10_000)
      .map((r) => auditFromRow(r as Row));
  }

  async claimOnce(key: string, expiresAt: number): Promise<boolean> {
    return this.write(() => this.stmts.claim.run(key, expiresAt).changes === 1);
  }

  /**
   * Group commit for the hot path: writes that arrive in the same turn of the
   * event loop share one transaction, so one fsync (synchronous=FULL) serves
   * them all. Each write runs in its own savepoint, so one failure rolls back
   * only itself; every promise settles after the commit, never before.
   */
  private write<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const op of batch) {
          try {
            results.push({ ok: true, value: this.db.transaction(op.fn)() });
          } catch (error) {
            results.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      for (const op of batch) op.reject(error);
      return;
    }
    batch.forEach((op, i) => {
      const r = results[i]!;
      if (r.ok) op.resolve(r.value);
      else op.reject(r.error);
    });
  }

  async createSession(session: StoredSession): Promise<void> {
    this.stmts.insertSession.run({ ...session, data: JSON.stringify(session.data) });
  }

  async getSession(idSha256: string): Promise<StoredSession | undefined> {
    const r = this.stmts.getSession.get(idSha256) as Row | undefined;
    return (
      r && {
        idSha256: r.id_sha256 as string,
        subject: r.subject as string,
        data: JSON.parse(r.data as string) as Record<string, unknown>,
        createdAt: r.created_at as number,
        lastSeenAt: r.last_seen_at as number,
        expiresAt: r.expires_at as number,
      }
    );
  }

  async touchSession(idSha256: string, lastSeenAt: number): Promise<void> {
    this.stmts.touchSession.run(lastSeenAt, idSha256);
  }

  async deleteSession(idSha256: string): Promise<void> {
    this.stmts.deleteSession.run(idSha256);
  }

  async deleteSubjectSessions(subject: string): Promise<number> {
    return this.stmts.deleteSubjectSessions.run(subject).changes;
  }

  async prune(now: number, auditRetentionSeconds: number): Promise<PruneCounts> {
    return this.db.transaction(() => ({
      replayGuards: this.stmts.pruneReplay.run(now).changes,
      tokens: this.stmts.pruneTokens.run(now).changes,
      sessions: this.stmts.pruneSessions.run(now).changes,
      auditEvents: this.stmts.pruneAudit.run(now - auditRetentionSeconds).changes,
    }))();
  }

  private insertAudit(e: AuditEvent): void {
    this.stmts.insertAudit.run({
      time: e.time,
      event: e.event,
      outcome: e.outcome,
      subject: e.subject ?? null,
      source: e.source ?? null,
      policy: e.policy ?? null,
      scopes: e.scopes ? JSON.stringify(e.scopes) : null,
      reason: e.reason ?? null,
      clientAddress: e.clientAddress ?? null,
      userAgent: e.userAgent ?? null,
      tokenSha256: e.tokenSha256 ?? null,
      jti: e.jti ?? null,
      detail: e.detail ? JSON.stringify(e.detail) : null,
    });
  }
}
