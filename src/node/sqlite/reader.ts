import type Database from 'better-sqlite3';
import { liveSessionsQuery } from '../../store/session-queries.js';
import type {
  AuditFilter,
  DeviceCode,
  IssuedToken,
  SessionSummary,
  StoredAuditEvent,
  StoredKey,
  Store,
  StoredSession,
  ScimStanding,
  ScimUser,
  ScimUserFilter,
} from '../../store/types.js';
import {
  auditFromRow,
  deviceCodeFromRow,
  keyFromRow,
  sessionFromRow,
  sessionSummaryFromRow,
  tokenFromRow,
  type Row,
} from '../../store/rows.js';
import { auditQuery, tokensQuery } from '../../store/queries.js';
import {
  SCIM_STANDING_SQL,
  SCIM_USER_SQL,
  scimListQueries,
  scimStandingFromRow,
  scimUserFromRow,
} from '../../store/scim-rows.js';

/**
 * The read side of SqliteStore: the main thread's connection, which runs
 * every read and no write. Under WAL it reads while the writer thread
 * commits, and sees every committed write.
 */
export class SqliteReader {
  private readonly stmts;

  constructor(readonly db: Database.Database) {
    this.stmts = {
      listKeys: db.prepare(
        `SELECT k.*, (SELECT max(t.expires_at) FROM issued_tokens t WHERE t.kid = k.kid) AS last_expiry
         FROM signing_keys k ORDER BY k.created_at DESC, k.rowid DESC`,
      ),
      getToken: db.prepare('SELECT * FROM issued_tokens WHERE jti = ?'),
      getSession: db.prepare('SELECT * FROM sessions WHERE id_sha256 = ?'),
      deviceByUserCode: db.prepare('SELECT * FROM device_codes WHERE user_code = ?'),
      liveSessions: db.prepare(
        'SELECT count(*) AS n FROM sessions WHERE expires_at > ? AND last_seen_at > ?',
      ),
      liveDevices: db.prepare('SELECT count(*) AS n FROM device_codes WHERE expires_at > ?'),
      scimUser: db.prepare(SCIM_USER_SQL),
      scimStanding: db.prepare(SCIM_STANDING_SQL),
      liveDevicesFrom: db.prepare(
        'SELECT count(*) AS n FROM device_codes WHERE expires_at > ? AND client_address IS ?',
      ),
    };
  }

  listKeys(): StoredKey[] {
    return this.stmts.listKeys.all().map((r) => keyFromRow(r as Row));
  }

  getToken(jti: string): IssuedToken | undefined {
    const r = this.stmts.getToken.get(jti) as Row | undefined;
    return r && tokenFromRow(r);
  }

  listTokens(filter: Parameters<Store['listTokens']>[0]): IssuedToken[] {
    const { sql, args } = tokensQuery(filter);
    return this.db
      .prepare(sql)
      .all(...args)
      .map((r) => tokenFromRow(r as Row));
  }

  queryAudit(filter: AuditFilter): StoredAuditEvent[] {
    const { sql, args } = auditQuery(filter);
    return this.db
      .prepare(sql)
      .all(...args)
      .map((r) => auditFromRow(r as Row));
  }

  getSession(idSha256: string): StoredSession | undefined {
    const r = this.stmts.getSession.get(idSha256) as Row | undefined;
    return r && sessionFromRow(r);
  }

  countLiveSessions(now: number, seenAfter: number): number {
    return (this.stmts.liveSessions.get(now, seenAfter) as { n: number }).n;
  }

  listLiveSessions(filter: Parameters<Store['listLiveSessions']>[0]): SessionSummary[] {
    const { sql, args } = liveSessionsQuery(filter);
    return this.db
      .prepare(sql)
      .all(...args)
      .map((r) => sessionSummaryFromRow(r as Row));
  }

  countLiveDeviceCodes(at: number, clientAddress?: string | null): number {
    const row = (
      clientAddress === undefined
        ? this.stmts.liveDevices.get(at)
        : this.stmts.liveDevicesFrom.get(at, clientAddress)
    ) as { n: number };
    return row.n;
  }

  getDeviceCodeByUserCode(userCode: string): DeviceCode | undefined {
    const r = this.stmts.deviceByUserCode.get(userCode) as Row | undefined;
    return r && deviceCodeFromRow(r);
  }

  getScimUser(id: string): ScimUser | undefined {
    const r = this.stmts.scimUser.get(id) as Row | undefined;
    return r && scimUserFromRow(r);
  }

  scimStanding(subject: string): ScimStanding | undefined {
    const r = this.stmts.scimStanding.get(subject) as Row | undefined;
    return r && scimStandingFromRow(r);
  }

  /** Both in one read transaction, so the total and the page agree. */
  listScimUsers(filter: ScimUserFilter): { total: number; users: ScimUser[] } {
    const { page, count } = scimListQueries(filter);
    return this.db.transaction(() => ({
      total: (this.db.prepare(count.sql).get(...count.args) as { n: number }).n,
      users: this.db
        .prepare(page.sql)
        .all(...page.args)
        .map((r) => scimUserFromRow(r as Row)),
    }))();
  }

  /** The connection answers: cheap enough to ask on every readiness check. */
  answers(): boolean {
    try {
      this.db.prepare('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
