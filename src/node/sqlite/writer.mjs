/**
 * The write side of SqliteStore, run in a worker thread so that B-tree inserts
 * and the fsync of every commit (synchronous=FULL) never stall the event loop.
 * BatchClient (batch-client.ts) sends it the batches; the main thread keeps
 * its own connection for reads (reader.ts): under WAL they run concurrently
 * and see every committed write.
 *
 * Plain JavaScript on purpose: a worker is loaded by Node itself, from the
 * sources under vitest and next to the bundle in dist/, so it cannot be a .ts
 * file. Its types are in writer.d.mts. The same module also runs
 * in-process for `:memory:` databases, which a second thread cannot open.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/** Every connection to the file, the reader's and the writer's, uses these. */
export const PRAGMAS = [
  'journal_mode = WAL',
  // A token is returned only after its rows are committed, and "committed"
  // must survive a power cut, not just a crash of this process.
  'synchronous = FULL',
  'foreign_keys = ON',
  // Each write's savepoint keeps a sub-journal; in a temp file it cost half
  // of an issue's CPU (mostly system calls), in memory it is a few pages.
  'temp_store = MEMORY',
  'busy_timeout = 5000',
];

/**
 * Prepares the write statements on `db` and returns `commit(batch)`, which runs
 * a batch of operations in one transaction: one fsync serves them all. Each
 * operation runs in its own savepoint, so one failure rolls back only itself.
 *
 * @param {Database.Database} db
 */
export function createWriter(db) {
  const s = {
    insertKey: db.prepare(
      `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?, ?)`,
    ),
    retireCurrent: db.prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL'),
    prunableKeys: db.prepare(
      `SELECT kid FROM signing_keys k WHERE retired_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM issued_tokens t WHERE t.kid = k.kid AND t.expires_at > ?)`,
    ),
    deleteKey: db.prepare('DELETE FROM signing_keys WHERE kid = ?'),
    parentRevokedAt: db.prepare('SELECT revoked_at FROM issued_tokens WHERE jti = ?'),
    insertToken: db.prepare(
      `INSERT INTO issued_tokens (jti, subject, scopes, audience, client_id, source, kid, parent_jti,
         issued_at, expires_at, revoked_at, token_sha256)
       VALUES (@jti, @subject, @scopes, @audience, @clientId, @source, @kid, @parentJti,
         @issuedAt, @expiresAt, @revokedAt, @tokenSha256)`,
    ),
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
    // A device code the person approved but the device has not collected yet would
    // otherwise still give a token after the person was revoked.
    denySubjectDevices: db.prepare(
      `UPDATE device_codes SET status = 'denied', decided_at = ? WHERE subject = ?
         AND status = 'approved' AND expires_at > ? RETURNING user_code`,
    ),
    insertAudit: db.prepare(
      `INSERT INTO audit_events (time, event, outcome, subject, source, policy, scopes, reason,
         client_address, user_agent, token_sha256, jti, detail)
       VALUES (@time, @event, @outcome, @subject, @source, @policy, @scopes, @reason,
         @clientAddress, @userAgent, @tokenSha256, @jti, @detail)`,
    ),
    claim: db.prepare('INSERT OR IGNORE INTO replay_guard (key, expires_at) VALUES (?, ?)'),
    insertSession: db.prepare(
      `INSERT INTO sessions (id_sha256, subject, data, created_at, last_seen_at, expires_at)
       VALUES (@idSha256, @subject, @data, @createdAt, @lastSeenAt, @expiresAt)`,
    ),
    touchSession: db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_sha256 = ?'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE id_sha256 = ?'),
    deleteSubjectSessions: db.prepare('DELETE FROM sessions WHERE subject = ?'),
    pruneReplay: db.prepare('DELETE FROM replay_guard WHERE expires_at <= ?'),
    pruneTokens: db.prepare('DELETE FROM issued_tokens WHERE expires_at <= ?'),
    pruneSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
    pruneAudit: db.prepare('DELETE FROM audit_events WHERE time < ?'),
    // An hour past expiry, so a device still polling is told expired_token, not "unknown code".
    pruneDeviceCodes: db.prepare('DELETE FROM device_codes WHERE expires_at <= ? - 3600'),
    // An expired request gives its user code up to a new one (prune may not have run yet).
    freeUserCode: db.prepare('DELETE FROM device_codes WHERE user_code = ? AND expires_at <= ?'),
    insertDeviceCode: db.prepare(
      `INSERT INTO device_codes (device_code_sha256, user_code, scopes, ttl, client_id,
         client_address, user_agent, created_at, expires_at, poll_interval, status)
       VALUES (@deviceCodeSha256, @userCode, @scopes, @ttlSeconds, @clientId,
         @clientAddress, @userAgent, @createdAt, @expiresAt, @interval, 'pending')
       ON CONFLICT DO NOTHING`,
    ),
    decideDeviceCode: db.prepare(
      `UPDATE device_codes SET status = @status, subject = @subject,
         approved_scopes = @approvedScopes, approver_claims = @approverClaims, decided_at = @at
       WHERE device_code_sha256 = @deviceCodeSha256 AND status = 'pending' AND expires_at > @at`,
    ),
    deviceCode: db.prepare('SELECT * FROM device_codes WHERE device_code_sha256 = ?'),
    notePoll: db.prepare(
      'UPDATE device_codes SET last_poll_at = ?, poll_interval = ? WHERE device_code_sha256 = ?',
    ),
    redeemDeviceCode: db.prepare(
      `UPDATE device_codes SET status = 'redeemed', jti = ?
       WHERE device_code_sha256 = ? AND status = 'approved' AND expires_at > ?`,
    ),
    scimById: db.prepare('SELECT version, deleted_at FROM scim_users WHERE id = ?'),
    scimNameTaken: db.prepare(
      'SELECT 1 FROM scim_users WHERE user_name_key = ? AND deleted_at IS NULL AND id <> ?',
    ),
    scimSubjectTaken: db.prepare(
      'SELECT 1 FROM scim_users WHERE subject = ? AND deleted_at IS NULL AND id <> ?',
    ),
    // A live user now speaks for the subject: its older deleted users no longer do.
    scimDropTombstones: db.prepare(
      'DELETE FROM scim_users WHERE subject = ? AND deleted_at IS NOT NULL',
    ),
    scimInsert: db.prepare(
      `INSERT INTO scim_users (id, user_name, user_name_key, subject, external_id, active, resource,
         created_at, last_modified, version)
       VALUES (@id, @userName, @userNameKey, @subject, @externalId, @active, @resource,
         @createdAt, @lastModified, 1)`,
    ),
    scimReplace: db.prepare(
      `UPDATE scim_users SET user_name = @userName, user_name_key = @userNameKey,
         subject = @subject, external_id = @externalId, active = @active, resource = @resource,
         last_modified = @lastModified, version = version + 1
       WHERE id = @id AND version = @readVersion AND deleted_at IS NULL`,
    ),
    scimDelete: db.prepare(
      `UPDATE scim_users SET deleted_at = ?, active = 0, resource = '{}', last_modified = ?,
         version = version + 1 WHERE id = ? AND version = ? AND deleted_at IS NULL`,
    ),
    // The subject's tokens and every token narrowed from them, however deep.
    revokeSubjectTree: db.prepare(
      `WITH RECURSIVE tree(jti) AS (
         SELECT jti FROM issued_tokens WHERE subject = ?
         UNION SELECT t.jti FROM issued_tokens t JOIN tree ON t.parent_jti = tree.jti)
       UPDATE issued_tokens SET revoked_at = ? WHERE jti IN (SELECT jti FROM tree)
         AND revoked_at IS NULL AND expires_at > ? RETURNING jti`,
    ),
    probe: db.prepare(
      `INSERT INTO readiness_probe (id, checked_at) VALUES (1, ?)
       ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`,
    ),
  };

  /** @param {import('../../store/types.js').AuditEvent} e */
  const insertAudit = (e) =>
    s.insertAudit.run({
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

  /** The operations, by name; their signatures are WriteOps in writer.d.mts. */
  const ops = {
    addKey(key, retireCurrentAt) {
      if (retireCurrentAt !== undefined) s.retireCurrent.run(retireCurrentAt);
      s.insertKey.run(
        key.kid,
        key.alg,
        JSON.stringify(key.privateJwk),
        JSON.stringify(key.publicJwk),
        key.createdAt,
      );
    },
    pruneKeys(now) {
      const kids = s.prunableKeys.all(now).map((r) => r.kid);
      for (const kid of kids) s.deleteKey.run(kid);
      return kids;
    },
    recordIssue(token, audit, once) {
      // Checked in the same transaction as the insert, so a revocation racing
      // the exchange cannot be missed.
      if (token.parentJti !== null) {
        const parent = s.parentRevokedAt.get(token.parentJti);
        if (!parent || parent.revoked_at !== null) return 'parent_revoked';
      }
      if (once && 'deviceCodeSha256' in once) {
        // Marked redeemed in the token's own transaction: of two concurrent
        // redemptions, the second finds it no longer approved and issues nothing.
        const redeemed = s.redeemDeviceCode.run(token.jti, once.deviceCodeSha256, once.at);
        if (redeemed.changes !== 1) return 'replayed';
      } else if (once && s.claim.run(once.key, once.expiresAt).changes !== 1) return 'replayed';
      s.insertToken.run({ ...token, scopes: JSON.stringify(token.scopes) });
      insertAudit(audit);
      return 'issued';
    },
    revokeToken(jti, at, audit) {
      const jtis = s.revokeTree.all(jti, at).map((r) => r.jti);
      if (jtis.length) insertAudit({ ...audit, detail: { ...audit.detail, revoked: jtis } });
      return jtis;
    },
    revokeSubject(subject, at, audit) {
      const jtis = s.revokeSubject.all(at, subject, at).map((r) => r.jti);
      const devices = s.denySubjectDevices.all(at, subject, at).length;
      insertAudit({
        ...audit,
        detail: {
          ...audit.detail,
          revoked: jtis,
          ...(devices ? { device_codes_denied: devices } : {}),
        },
      });
      return jtis;
    },
    writeScimUser(write) {
      const { at } = write;
      const found = s.scimById.get(write.op === 'delete' ? write.id : write.user.id);
      if (write.op === 'create') {
        if (found) return { outcome: 'conflict', attribute: 'id' };
      } else {
        if (!found || found.deleted_at !== null) return { outcome: 'not_found' };
        if (found.version !== write.readVersion) return { outcome: 'stale' };
      }
      if (write.op === 'delete') {
        s.scimDelete.run(at, at, write.id, write.readVersion);
      } else {
        const u = write.user;
        if (s.scimNameTaken.get(u.userNameKey, u.id)) {
          return { outcome: 'conflict', attribute: 'userName' };
        }
        if (s.scimSubjectTaken.get(u.subject, u.id)) {
          return { outcome: 'conflict', attribute: 'subject' };
        }
        s.scimDropTombstones.run(u.subject);
        const row = {
          ...u,
          active: u.active ? 1 : 0,
          resource: JSON.stringify(u.resource),
          externalId: u.externalId,
        };
        if (write.op === 'create') s.scimInsert.run(row);
        else s.scimReplace.run({ ...row, readVersion: write.readVersion });
      }
      const revoked = [];
      let sessionsEnded = 0;
      let devicesDenied = 0;
      for (const subject of write.endAccess) {
        revoked.push(...s.revokeSubjectTree.all(subject, at, at).map((r) => r.jti));
        sessionsEnded += s.deleteSubjectSessions.run(subject).changes;
        devicesDenied += s.denySubjectDevices.all(at, subject, at).length;
      }
      const ended = write.endAccess.length
        ? { revoked, sessions_ended: sessionsEnded, device_codes_denied: devicesDenied }
        : {};
      insertAudit({ ...write.audit, detail: { ...write.audit.detail, ...ended } });
      return { outcome: 'written', revoked, sessionsEnded };
    },
    appendAudit(event) {
      insertAudit(event);
    },
    claimOnce(key, expiresAt) {
      return s.claim.run(key, expiresAt).changes === 1;
    },
    createDeviceCode(code) {
      s.freeUserCode.run(code.userCode, code.createdAt);
      const row = { ...code, scopes: code.scopes && JSON.stringify(code.scopes) };
      return s.insertDeviceCode.run(row).changes === 1;
    },
    decideDeviceCode(deviceCodeSha256, decision, audit) {
      const approved = decision.status === 'approved';
      const changed = s.decideDeviceCode.run({
        deviceCodeSha256,
        status: decision.status,
        subject: decision.subject,
        approvedScopes: approved ? JSON.stringify(decision.approvedScopes) : null,
        approverClaims: approved ? JSON.stringify(decision.approverClaims) : null,
        at: decision.at,
      }).changes;
      if (changed !== 1) return false;
      insertAudit(audit);
      return true;
    },
    pollDeviceCode(deviceCodeSha256, now) {
      const row = s.deviceCode.get(deviceCodeSha256);
      if (!row) return undefined;
      if (row.status !== 'pending') return { row, tooFast: false };
      const tooFast = row.last_poll_at !== null && now - row.last_poll_at < row.poll_interval;
      // RFC 8628 section 3.5: a slow_down adds 5 s for this and every later poll.
      const interval = row.poll_interval + (tooFast ? 5 : 0);
      s.notePoll.run(now, interval, deviceCodeSha256);
      return { row: { ...row, last_poll_at: now, poll_interval: interval }, tooFast };
    },
    createSession(session) {
      s.insertSession.run({ ...session, data: JSON.stringify(session.data) });
    },
    touchSession(idSha256, lastSeenAt) {
      s.touchSession.run(lastSeenAt, idSha256);
    },
    deleteSession(idSha256) {
      s.deleteSession.run(idSha256);
    },
    deleteSubjectSessions(subject, audit) {
      const ended = s.deleteSubjectSessions.run(subject).changes;
      if (audit) insertAudit({ ...audit, detail: { ...audit.detail, sessions: ended } });
      return ended;
    },
    /**
     * For readiness: a real committed write. An empty transaction writes
     * nothing under WAL, so it succeeds on a full disk where every exchange fails.
     */
    probe(at) {
      s.probe.run(at);
    },
    prune(now, auditRetentionSeconds) {
      return {
        replayGuards: s.pruneReplay.run(now).changes,
        tokens: s.pruneTokens.run(now).changes,
        sessions: s.pruneSessions.run(now).changes,
        deviceCodes: s.pruneDeviceCodes.run(now).changes,
        auditEvents: s.pruneAudit.run(now - auditRetentionSeconds).changes,
      };
    },
  };
  // Inside the batch's transaction better-sqlite3 runs these as savepoints.
  const savepoints = new Map(Object.entries(ops).map(([name, fn]) => [name, db.transaction(fn)]));

  const batchTransaction = db.transaction((batch) =>
    batch.map(({ op, args }) => {
      try {
        const run = savepoints.get(op);
        if (!run) throw new Error(`unknown store write: ${op}`);
        return { value: run(...args) };
      } catch (error) {
        // SQLite rolled back the whole transaction (e.g. SQLITE_FULL): the ops
        // before this one are gone too, so the batch fails as a whole.
        if (!db.inTransaction) throw error;
        return { error: errorInfo(error) };
      }
    }),
  );

  return {
    /**
     * Results in batch order, each `{ value }` or `{ error }`. Throws when the
     * transaction itself fails (BEGIN or COMMIT): then nothing was written.
     * IMMEDIATE takes the write lock up front, waiting out busy_timeout, rather
     * than failing with SQLITE_BUSY when a read has to be upgraded to a write.
     *
     * @param {Array<{ op: string, args: unknown[] }>} batch
     */
    commit: (batch) => batchTransaction.immediate(batch),
  };
}

/**
 * What crosses the thread boundary of an error: structured clone would keep
 * the message but drop SQLite's `code`.
 *
 * @param {unknown} error
 * @returns {{ message: string, code?: string }}
 */
export function errorInfo(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = /** @type {{ code?: unknown }} */ (error).code;
  return typeof code === 'string' ? { message: error.message, code } : { message: error.message };
}

// Started as the writer thread (not merely imported): serve batches until told to close.
if (parentPort && workerData?.sqliteWriter) {
  const port = parentPort;
  // The main thread created and migrated the file: never create another one.
  const db = new Database(workerData.sqliteWriter.path, { fileMustExist: true });
  for (const pragma of PRAGMAS) db.pragma(pragma);
  const writer = createWriter(db);
  port.on('message', (message) => {
    if (message === 'close') {
      db.close();
      port.close(); // nothing left to wait for: the thread exits
      return;
    }
    try {
      port.postMessage({ results: writer.commit(message) });
    } catch (error) {
      port.postMessage({ error: errorInfo(error) });
    }
  });
}
