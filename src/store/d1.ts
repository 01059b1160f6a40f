import { D1Client, messageOf, type D1Like } from './d1-client.js';
import { liveSessionsQuery } from './session-queries.js';
import { recordIssue, revokeSubject, revokeToken } from './d1-tokens.js';
import { writeScimUser } from './d1-scim.js';
import { MIGRATIONS } from './migrations.js';
import {
  SCIM_STANDING_SQL,
  SCIM_USER_SQL,
  scimListQueries,
  scimStandingFromRow,
  scimUserFromRow,
} from './scim-rows.js';
import {
  auditFromRow,
  deviceCodeFromRow,
  keyFromRow,
  sessionFromRow,
  sessionSummaryFromRow,
  tokenFromRow,
  type Row,
} from './rows.js';
import type {
  AuditEvent,
  AuditFilter,
  DeviceCode,
  DeviceDecision,
  DevicePoll,
  IssuedToken,
  SessionSummary,
  IssueOutcome,
  NewDeviceCode,
  NewKey,
  OneTime,
  PruneCounts,
  Store,
  StoredAuditEvent,
  StoredKey,
  StoredSession,
  ScimStanding,
  ScimUser,
  ScimUserFilter,
  ScimWrite,
  ScimWriteOutcome,
} from './types.js';
import { auditQuery, tokensQuery } from './queries.js';
import { AUDIT_COLUMNS, auditValues } from './columns.js';

export type { D1Like } from './d1-client.js';

/**
 * The D1 store (Workers). D1 has no BEGIN: every write that must happen
 * together is one `batch()`, which D1 runs as one transaction, alone on the
 * database. A batch cannot branch in JavaScript between its statements, so
 * each statement carries its own condition in SQL, and conditions are checked
 * before the writes that would change them (the audit row of a revocation is
 * written first, from the rows still unrevoked). One-time values are rows
 * under unique keys: they hold across isolates, never in memory.
 */
export class D1Store implements Store {
  private readonly db: D1Client;

  constructor(binding: D1Like) {
    this.db = new D1Client(binding);
  }

  /** What keeps D1 from serving exchanges: it does not answer, cannot be written, or lacks migrations. */
  async readiness(): Promise<string[]> {
    try {
      const applied = await this.migrationsApplied();
      const missing = MIGRATIONS.filter((m) => !applied.has(m.file)).map((m) => m.file);
      if (missing.length) {
        return [
          `D1 database (binding DB) lacks migrations ${missing.join(', ')}: run \`wrangler d1 migrations apply DB --remote\``,
        ];
      }
      await this.db.run(
        `INSERT INTO readiness_probe (id, checked_at) VALUES (1, ?)
         ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`,
        Math.floor(Date.now() / 1000),
      );
      return [];
    } catch (e) {
      return [
        `D1 database (binding DB) cannot be written: ${messageOf(e instanceof Error && e.cause !== undefined ? e.cause : e)}; check the binding in wrangler.toml and the D1 dashboard`,
      ];
    }
  }

  async close(): Promise<void> {}

  async listKeys(): Promise<StoredKey[]> {
    const rows = await this.db.all(
      `SELECT k.*, (SELECT max(t.expires_at) FROM issued_tokens t WHERE t.kid = k.kid) AS last_expiry
       FROM signing_keys k ORDER BY k.created_at DESC, k.rowid DESC`,
    );
    return rows.map(keyFromRow);
  }

  async addKey(key: NewKey, retireCurrentAt?: number): Promise<void> {
    const insert = this.db.stmt(
      `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?, ?)`,
      key.kid,
      key.alg,
      JSON.stringify(key.privateJwk),
      JSON.stringify(key.publicJwk),
      key.createdAt,
    );
    const retire =
      retireCurrentAt === undefined
        ? []
        : [
            this.db.stmt(
              'UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL',
              retireCurrentAt,
            ),
          ];
    await this.db.batch([...retire, insert]);
  }

  async pruneKeys(now: number): Promise<string[]> {
    const rows = await this.db.all(
      `DELETE FROM signing_keys WHERE retired_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM issued_tokens t WHERE t.kid = signing_keys.kid AND t.expires_at > ?)
       RETURNING kid`,
      now,
    );
    return rows.map((r) => r.kid as string);
  }

  async recordIssue(token: IssuedToken, audit: AuditEvent, once?: OneTime): Promise<IssueOutcome> {
    return recordIssue(this.db, token, audit, once);
  }

  async getToken(jti: string): Promise<IssuedToken | undefined> {
    const [r] = await this.db.all('SELECT * FROM issued_tokens WHERE jti = ?', jti);
    return r && tokenFromRow(r);
  }

  async revokeToken(jti: string, at: number, audit: AuditEvent): Promise<string[]> {
    return revokeToken(this.db, jti, at, audit);
  }

  async revokeSubject(subject: string, at: number, audit: AuditEvent): Promise<string[]> {
    return revokeSubject(this.db, subject, at, audit);
  }

  async listTokens(filter: Parameters<Store['listTokens']>[0]): Promise<IssuedToken[]> {
    const { sql, args } = tokensQuery(filter);
    return (await this.db.all(sql, ...args)).map(tokenFromRow);
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    const values = auditValues(event);
    await this.db.run(
      `INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES (${values.map(() => '?').join(', ')})`,
      ...values,
    );
  }

  async queryAudit(filter: AuditFilter): Promise<StoredAuditEvent[]> {
    const { sql, args } = auditQuery(filter);
    return (await this.db.all(sql, ...args)).map(auditFromRow);
  }

  async claimOnce(key: string, expiresAt: number): Promise<boolean> {
    const rows = await this.db.all(
      'INSERT INTO replay_guard (key, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING key',
      key,
      expiresAt,
    );
    return rows.length === 1;
  }

  async createDeviceCode(code: NewDeviceCode): Promise<boolean> {
    // An expired request gives its user code up to a new one (prune may not have run yet).
    const free = this.db.stmt(
      'DELETE FROM device_codes WHERE user_code = ? AND expires_at <= ?',
      code.userCode,
      code.createdAt,
    );
    const insert = this.db.stmt(
      `INSERT INTO device_codes (device_code_sha256, user_code, scopes, ttl, client_id,
         client_address, user_agent, created_at, expires_at, poll_interval, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
       ON CONFLICT DO NOTHING RETURNING device_code_sha256`,
      code.deviceCodeSha256,
      code.userCode,
      code.scopes && JSON.stringify(code.scopes),
      code.ttlSeconds,
      code.clientId,
      code.clientAddress,
      code.userAgent,
      code.createdAt,
      code.expiresAt,
      code.interval,
    );
    const [, inserted] = await this.db.batch([free, insert]);
    return inserted!.results.length === 1;
  }

  async getDeviceCodeByUserCode(userCode: string): Promise<DeviceCode | undefined> {
    const [r] = await this.db.all('SELECT * FROM device_codes WHERE user_code = ?', userCode);
    return r && deviceCodeFromRow(r);
  }

  async countLiveDeviceCodes(at: number, clientAddress?: string | null): Promise<number> {
    const [r] =
      clientAddress === undefined
        ? await this.db.all('SELECT count(*) AS n FROM device_codes WHERE expires_at > ?', at)
        : await this.db.all(
            'SELECT count(*) AS n FROM device_codes WHERE expires_at > ? AND client_address IS ?',
            at,
            clientAddress,
          );
    return r!.n as number;
  }

  async decideDeviceCode(
    deviceCodeSha256: string,
    decision: DeviceDecision,
    audit: AuditEvent,
  ): Promise<boolean> {
    const pending = `device_code_sha256 = ?1 AND status = 'pending' AND expires_at > ?2`;
    const values = auditValues(audit);
    // The audit row first, on the condition the update is about to change.
    const insertAudit = this.db.stmt(
      `INSERT INTO audit_events (${AUDIT_COLUMNS}) SELECT ${values.map((_, i) => `?${i + 3}`).join(', ')}
       WHERE EXISTS (SELECT 1 FROM device_codes WHERE ${pending})`,
      deviceCodeSha256,
      decision.at,
      ...values,
    );
    const approved = decision.status === 'approved';
    const decide = this.db.stmt(
      `UPDATE device_codes SET status = ?3, subject = ?4, approved_scopes = ?5, approver_claims = ?6,
         decided_at = ?2 WHERE ${pending} RETURNING device_code_sha256`,
      deviceCodeSha256,
      decision.at,
      decision.status,
      decision.subject,
      approved ? JSON.stringify(decision.approvedScopes) : null,
      approved ? JSON.stringify(decision.approverClaims) : null,
    );
    const [, decided] = await this.db.batch([insertAudit, decide]);
    return decided!.results.length === 1;
  }

  async pollDeviceCode(deviceCodeSha256: string, now: number): Promise<DevicePoll | undefined> {
    const before = this.db.stmt(
      'SELECT * FROM device_codes WHERE device_code_sha256 = ?',
      deviceCodeSha256,
    );
    // RFC 8628 section 3.5: a poll sooner than the interval adds 5 s for this and every later poll.
    const note = this.db.stmt(
      `UPDATE device_codes SET last_poll_at = ?2,
         poll_interval = poll_interval + CASE WHEN last_poll_at IS NOT NULL
           AND ?2 - last_poll_at < poll_interval THEN 5 ELSE 0 END
       WHERE device_code_sha256 = ?1 AND status = 'pending'`,
      deviceCodeSha256,
      now,
    );
    const [found] = await this.db.batch([before, note]);
    const row = found!.results[0] as Row | undefined;
    if (!row) return undefined;
    if (row.status !== 'pending') return { code: deviceCodeFromRow(row), tooFast: false };
    const last = row.last_poll_at as number | null;
    const interval = row.poll_interval as number;
    const tooFast = last !== null && now - last < interval;
    const polled = { ...row, last_poll_at: now, poll_interval: interval + (tooFast ? 5 : 0) };
    return { code: deviceCodeFromRow(polled), tooFast };
  }

  async createSession(s: StoredSession): Promise<void> {
    await this.db.run(
      `INSERT INTO sessions (id_sha256, subject, data, created_at, last_seen_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      s.idSha256,
      s.subject,
      JSON.stringify(s.data),
      s.createdAt,
      s.lastSeenAt,
      s.expiresAt,
    );
  }

  async getSession(idSha256: string): Promise<StoredSession | undefined> {
    const [r] = await this.db.all('SELECT * FROM sessions WHERE id_sha256 = ?', idSha256);
    return r && sessionFromRow(r);
  }

  async touchSession(idSha256: string, lastSeenAt: number): Promise<void> {
    await this.db.run(
      'UPDATE sessions SET last_seen_at = ? WHERE id_sha256 = ?',
      lastSeenAt,
      idSha256,
    );
  }

  async deleteSession(idSha256: string): Promise<void> {
    await this.db.run('DELETE FROM sessions WHERE id_sha256 = ?', idSha256);
  }

  async deleteSubjectSessions(subject: string, audit?: AuditEvent): Promise<number> {
    const remove = this.db.stmt('DELETE FROM sessions WHERE subject = ?', subject);
    if (!audit) return (await this.db.batch([remove]))[0]!.meta.changes ?? 0;
    const values = auditValues(audit);
    const detail = values.pop();
    // The audit row first, counting the sessions the delete is about to end.
    const insertAudit = this.db.stmt(
      `INSERT INTO audit_events (${AUDIT_COLUMNS})
       SELECT ${values.map((_, i) => `?${i + 3}`).join(', ')},
         json_set(coalesce(?2, '{}'), '$.sessions', (SELECT count(*) FROM sessions WHERE subject = ?1))`,
      subject,
      detail,
      ...values,
    );
    const [, removed] = await this.db.batch([insertAudit, remove]);
    return removed!.meta.changes ?? 0;
  }

  async listLiveSessions(
    filter: Parameters<Store['listLiveSessions']>[0],
  ): Promise<SessionSummary[]> {
    const { sql, args } = liveSessionsQuery(filter);
    return (await this.db.all(sql, ...args)).map(sessionSummaryFromRow);
  }

  async countLiveSessions(now: number, seenAfter: number): Promise<number> {
    const [r] = await this.db.all(
      'SELECT count(*) AS n FROM sessions WHERE expires_at > ? AND last_seen_at > ?',
      now,
      seenAfter,
    );
    return r!.n as number;
  }

  async getScimUser(id: string): Promise<ScimUser | undefined> {
    const [r] = await this.db.all(SCIM_USER_SQL, id);
    return r && scimUserFromRow(r);
  }

  async scimStanding(subject: string): Promise<ScimStanding | undefined> {
    const [r] = await this.db.all(SCIM_STANDING_SQL, subject);
    return r && scimStandingFromRow(r);
  }

  /** Both in one batch, so the total and the page agree. */
  async listScimUsers(filter: ScimUserFilter): Promise<{ total: number; users: ScimUser[] }> {
    const { page, count } = scimListQueries(filter);
    const [total, rows] = await this.db.batch([
      this.db.stmt(count.sql, ...count.args),
      this.db.stmt(page.sql, ...page.args),
    ]);
    return {
      total: (total!.results[0] as Row).n as number,
      users: (rows!.results as Row[]).map(scimUserFromRow),
    };
  }

  async writeScimUser(write: ScimWrite): Promise<ScimWriteOutcome> {
    return writeScimUser(this.db, write);
  }

  async prune(now: number, auditRetentionSeconds: number): Promise<PruneCounts> {
    const results = await this.db.batch([
      this.db.stmt('DELETE FROM replay_guard WHERE expires_at <= ?', now),
      this.db.stmt('DELETE FROM issued_tokens WHERE expires_at <= ?', now),
      this.db.stmt('DELETE FROM sessions WHERE expires_at <= ?', now),
      // An hour past expiry, so a device still polling is told expired_token, not "unknown code".
      this.db.stmt('DELETE FROM device_codes WHERE expires_at <= ?', now - 3600),
      this.db.stmt('DELETE FROM audit_events WHERE time < ?', now - auditRetentionSeconds),
    ]);
    const [replayGuards, tokens, sessions, deviceCodes, auditEvents] = results.map(
      (r) => r.meta.changes ?? 0,
    );
    return {
      replayGuards: replayGuards!,
      tokens: tokens!,
      sessions: sessions!,
      deviceCodes: deviceCodes!,
      auditEvents: auditEvents!,
    };
  }

  private async migrationsApplied(): Promise<Set<string>> {
    const [table] = await this.db.all(
      "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'd1_migrations'",
    );
    if (!table) return new Set();
    const rows = await this.db.all('SELECT name FROM d1_migrations');
    return new Set(rows.map((r) => r.name as string));
  }
}
