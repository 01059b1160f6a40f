import type Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { systemClock, type Clock } from '../../shared/clock.js';
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
} from '../../store/types.js';
import { BatchClient } from './batch-client.js';
import { storeError } from './health.js';
import { openDatabase, type OpenOptions } from './open.js';
import { Readiness } from './readiness.js';
import { SqliteReader } from './reader.js';
import { deviceCodeFromRow } from '../../store/rows.js';

/**
 * The SQLite store (Node). WAL with synchronous=FULL: a token is returned only
 * after its rows are committed, and "committed" must survive a power cut, not
 * just a crash of this process.
 *
 * Reads run on `db`, in this thread (SqliteReader). Every write goes to one
 * writer thread (writer.mjs) with its own connection, so that fsync and
 * B-tree work never block the event loop; a second writing connection in this
 * thread would only wait on the writer's lock in busy_timeout. BatchClient
 * groups the writes into batches for it. A `:memory:` database cannot be
 * shared with a thread: it is written in-process, as before.
 */
export class SqliteStore implements Store {
  /** The main thread's connection. It only reads: every write goes to the writer. */
  readonly db: Database.Database;
  /** Differences from the migrations' schema, when opened with `tolerateSchemaProblems`. */
  readonly schemaProblems: string[];
  private readonly reader: SqliteReader;
  private readonly writes: BatchClient;
  private readonly health: Readiness;
  private closing: Promise<void> | undefined;

  /**
   * Opens (creating it unless `create: false`), migrates and checks the file;
   * throws a DatabaseError naming it. `minFreeBytes` is the free space under
   * which /readyz reports the disk as full (default 1 MiB); `clock` times
   * the readiness probe.
   */
  constructor(file: string, options: OpenOptions & { minFreeBytes?: number; clock?: Clock } = {}) {
    // Resolved now: the writer opens it later, and the working directory may have changed by then.
    const path = file === ':memory:' ? file : resolve(file);
    // Migrated before the writer opens: it prepares its statements against the schema.
    const { db, schemaProblems } = openDatabase(path, options);
    this.db = db;
    this.schemaProblems = schemaProblems;
    this.reader = new SqliteReader(db);
    this.health = new Readiness({
      path,
      minFreeBytes: options.minFreeBytes ?? 1024 * 1024,
      clock: options.clock ?? systemClock,
      answers: () => this.reader.answers(),
      probe: (at) => this.writes.write('probe', at),
    });
    this.writes = new BatchClient(path === ':memory:' ? db : path, {
      settled: (reply) => this.health.noteBatch(reply),
      failure: (error) => storeError(path, error),
    });
  }

  /** What an exchange would run into now: each problem says what to do; none when ready. */
  readiness(): Promise<string[]> {
    return this.health.problems();
  }

  /** Settles the queued writes, then stops the writer and closes both connections. */
  close(): Promise<void> {
    this.closing ??= this.writes.close().then(() => this.reader.close());
    return this.closing;
  }

  async listKeys(): Promise<StoredKey[]> {
    return this.reader.listKeys();
  }

  async addKey(key: NewKey, retireCurrentAt?: number): Promise<void> {
    return this.writes.write('addKey', key, retireCurrentAt);
  }

  async pruneKeys(now: number): Promise<string[]> {
    return this.writes.write('pruneKeys', now);
  }

  async recordIssue(token: IssuedToken, audit: AuditEvent, once?: OneTime): Promise<IssueOutcome> {
    return this.writes.write('recordIssue', token, audit, once);
  }

  async getToken(jti: string): Promise<IssuedToken | undefined> {
    return this.reader.getToken(jti);
  }

  async revokeToken(jti: string, at: number, audit: AuditEvent): Promise<string[]> {
    return this.writes.write('revokeToken', jti, at, audit);
  }

  async revokeSubject(subject: string, at: number, audit: AuditEvent): Promise<string[]> {
    return this.writes.write('revokeSubject', subject, at, audit);
  }

  async listTokens(filter: Parameters<Store['listTokens']>[0]): Promise<IssuedToken[]> {
    return this.reader.listTokens(filter);
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    return this.writes.write('appendAudit', event);
  }

  async queryAudit(filter: AuditFilter): Promise<StoredAuditEvent[]> {
    return this.reader.queryAudit(filter);
  }

  async claimOnce(key: string, expiresAt: number): Promise<boolean> {
    return this.writes.write('claimOnce', key, expiresAt);
  }

  async createDeviceCode(code: NewDeviceCode): Promise<boolean> {
    return this.writes.write('createDeviceCode', code);
  }

  async countLiveDeviceCodes(at: number, clientAddress?: string | null): Promise<number> {
    return this.reader.countLiveDeviceCodes(at, clientAddress);
  }

  async getDeviceCodeByUserCode(userCode: string): Promise<DeviceCode | undefined> {
    return this.reader.getDeviceCodeByUserCode(userCode);
  }

  async decideDeviceCode(
    deviceCodeSha256: string,
    decision: DeviceDecision,
    audit: AuditEvent,
  ): Promise<boolean> {
    return this.writes.write('decideDeviceCode', deviceCodeSha256, decision, audit);
  }

  async pollDeviceCode(deviceCodeSha256: string, now: number): Promise<DevicePoll | undefined> {
    const polled = await this.writes.write('pollDeviceCode', deviceCodeSha256, now);
    return polled && { code: deviceCodeFromRow(polled.row), tooFast: polled.tooFast };
  }

  async createSession(session: StoredSession): Promise<void> {
    return this.writes.write('createSession', session);
  }

  async getSession(idSha256: string): Promise<StoredSession | undefined> {
    return this.reader.getSession(idSha256);
  }

  async countLiveSessions(now: number, seenAfter: number): Promise<number> {
    return this.reader.countLiveSessions(now, seenAfter);
  }

  async listLiveSessions(
    filter: Parameters<Store['listLiveSessions']>[0],
  ): Promise<SessionSummary[]> {
    return this.reader.listLiveSessions(filter);
  }

  async touchSession(idSha256: string, lastSeenAt: number): Promise<void> {
    return this.writes.write('touchSession', idSha256, lastSeenAt);
  }

  async deleteSession(idSha256: string): Promise<void> {
    return this.writes.write('deleteSession', idSha256);
  }

  async deleteSubjectSessions(subject: string, audit?: AuditEvent): Promise<number> {
    return this.writes.write('deleteSubjectSessions', subject, audit);
  }

  async getScimUser(id: string): Promise<ScimUser | undefined> {
    return this.reader.getScimUser(id);
  }

  async scimStanding(subject: string): Promise<ScimStanding | undefined> {
    return this.reader.scimStanding(subject);
  }

  async listScimUsers(filter: ScimUserFilter): Promise<{ total: number; users: ScimUser[] }> {
    return this.reader.listScimUsers(filter);
  }

  async writeScimUser(write: ScimWrite): Promise<ScimWriteOutcome> {
    return this.writes.write('writeScimUser', write);
  }

  async prune(now: number, auditRetentionSeconds: number): Promise<PruneCounts> {
    return this.writes.write('prune', now, auditRetentionSeconds);
  }
}
