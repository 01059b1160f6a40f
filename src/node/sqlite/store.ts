import Database from 'better-sqlite3';
import { setImmediate } from 'node:timers';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { nowSeconds, systemClock, type Clock } from '../../clock.js';
import { BrokerError } from '../../errors.js';
import { freeSpaceProblem, writeFailure, type WriteFailure } from './health.js';
import { openDatabase, type OpenOptions } from './open.js';
import { auditFromRow, keyFromRow, sessionFromRow, tokenFromRow, type Row } from './rows.js';
import {
  createWriter,
  errorInfo,
  type BatchReply,
  type ErrorInfo,
  type WriteOps,
  type WriteRequest,
} from './writer.mjs';
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
} from '../../store/types.js';

interface QueuedWrite {
  request: WriteRequest;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** SQLite's error as thrown by better-sqlite3, code included, though it was raised in the writer. */
/** How long a healthy readiness answer is reused; a probe still runs every few seconds. */
const READY_REUSE_MS = 2000;

const toError = ({ message, code }: ErrorInfo): Error =>
  code === undefined ? new Error(message) : new Database.SqliteError(message, code);

/**
 * The SQLite store (Node). WAL with synchronous=FULL: a token is returned only
 * after its rows are committed, and "committed" must survive a power cut, not
 * just a crash of this process.
 *
 * Reads run on `db`, in this thread. Every write goes to one writer thread
 * (writer.mjs) with its own connection, so that fsync and B-tree work
 * never block the event loop; a second writing connection in this thread
 * would only wait on the writer's lock in busy_timeout. A `:memory:` database
 * cannot be shared with a thread: it is written in-process, as before.
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly path: string;
  private readonly inProcess: ReturnType<typeof createWriter> | undefined;
  private worker: Worker | undefined;
  private queue: QueuedWrite[] = [];
  /** The batch the writer is committing; at most one, so batches commit in order. */
  private inFlight: QueuedWrite[] | undefined;
  private scheduled = false;
  private closing: Promise<void> | undefined;
  private whenIdle: Array<() => void> = [];

  /** Differences from the migrations' schema, when opened with `tolerateSchemaProblems`. */
  readonly schemaProblems: string[];
  private readonly minFreeBytes: number;
  /** The last batch that failed for want of storage (disk full, I/O error), until one commits. */
  /** When (on the store's clock) and how the last real batch failed for want of storage. */
  private lastFailure: (WriteFailure & { at: number }) | undefined;
  private readinessCheck: Promise<string[]> | undefined;
  /** Until when (clock ms) a healthy readiness answer is reused. */
  private readyUntil = 0;
  private readonly clock: Clock;

  /**
   * Opens (creating it unless `create: false`), migrates and checks the file;
   * throws a DatabaseError naming it. `minFreeBytes` is the free space under
   * which /readyz reports the disk as full (default 1 MiB); `clock` times
   * the readiness probe.
   */
  constructor(file: string, options: OpenOptions & { minFreeBytes?: number; clock?: Clock } = {}) {
    // Resolved now: the writer opens it later, and the working directory may have changed by then.
    const path = file === ':memory:' ? file : resolve(file);
    this.path = path;
    this.minFreeBytes = options.minFreeBytes ?? 1024 * 1024;
    this.clock = options.clock ?? systemClock;
    // Migrated before the writer opens: it prepares its statements against the schema.
    const { db, schemaProblems } = openDatabase(path, options);
    this.db = db;
    this.schemaProblems = schemaProblems;
    this.inProcess = path === ':memory:' ? createWriter(this.db) : undefined;
    this.stmts = {
      listKeys: db.prepare(
        `SELECT k.*, (SELECT max(t.expires_at) FROM issued_tokens t WHERE t.kid = k.kid) AS last_expiry
         FROM signing_keys k ORDER BY k.created_at DESC, k.rowid DESC`,
      ),
      getToken: db.prepare('SELECT * FROM issued_tokens WHERE jti = ?'),
      getSession: db.prepare('SELECT * FROM sessions WHERE id_sha256 = ?'),
    };
  }

  /**
   * What an exchange would run into now. Three signals, because none is
   * enough alone: a real committed write through the writer (an empty
   * transaction writes nothing under WAL); the free space on the file's
   * filesystem (a WAL reset by a checkpoint takes small writes into space it
   * already holds, so a probe can pass on a full disk while bigger batches
   * fail); and the last real batch that failed for want of storage, reported
   * with them so the operator sees what exchanges saw.
   */
  readiness(): Promise<string[]> {
    // /readyz answers anyone, and the probe is a commit (an fsync): a healthy
    // answer is reused for READY_REUSE_MS, and callers at the same time share
    // one check, so a loop of /readyz costs one fsync per moment. A problem
    // is never reused, and a real batch failing for want of storage ends the
    // reuse at once (noteOutcome): /readyz still says what exchanges see.
    if (this.clock.now() < this.readyUntil && this.answers()) return Promise.resolve([]);
    this.readinessCheck ??= this.checkReadiness()
      .then((problems) => {
        if (problems.length === 0) this.readyUntil = this.clock.now() + READY_REUSE_MS;
        return problems;
      })
      .finally(() => (this.readinessCheck = undefined));
    return this.readinessCheck;
  }

  /** The read connection answers: cheap enough to ask on every check. */
  private answers(): boolean {
    try {
      this.db.prepare('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  private async checkReadiness(): Promise<string[]> {
    if (!this.answers()) return ['database does not answer'];
    const before = this.lastFailure; // an exchange's, or an earlier probe's, not this one's
    const problems: string[] = [];
    const space = await freeSpaceProblem(this.path, this.minFreeBytes);
    if (space) problems.push(space);
    try {
      await this.write('probe', nowSeconds(this.clock));
    } catch (error) {
      // A storage failure reaches here as a 503 BrokerError with SQLite's error as its cause.
      const sqlite = error instanceof BrokerError ? error.cause : error;
      problems.push(writeFailure(this.path, sqlite)?.problem ?? 'database does not answer');
    }
    if (problems.length && before) {
      const ago = Math.round((this.clock.now() - before.at) / 1000);
      problems.push(`the last write failed ${ago}s ago: ${before.message}`);
    }
    return problems;
  }

  /** Settles the queued writes, then stops the writer and closes both connections. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  async listKeys(): Promise<StoredKey[]> {
    return this.stmts.listKeys.all().map((r) => keyFromRow(r as Row));
  }

  async addKey(key: NewKey, retireCurrentAt?: number): Promise<void> {
    return this.write('addKey', key, retireCurrentAt);
  }

  async pruneKeys(now: number): Promise<string[]> {
    return this.write('pruneKeys', now);
  }

  async recordIssue(
    token: IssuedToken,
    audit: AuditEvent,
    once?: OneTimeKey,
  ): Promise<IssueOutcome> {
    return this.write('recordIssue', token, audit, once);
  }

  async getToken(jti: string): Promise<IssuedToken | undefined> {
    const r = this.stmts.getToken.get(jti) as Row | undefined;
    return r && tokenFromRow(r);
  }

  async revokeToken(jti: string, at: number, audit: AuditEvent): Promise<string[]> {
    return this.write('revokeToken', jti, at, audit);
  }

  async revokeSubject(subject: string, at: number, audit: AuditEvent): Promise<string[]> {
    return this.write('revokeSubject', subject, at, audit);
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
    return this.write('appendAudit', event);
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
    return this.write('claimOnce', key, expiresAt);
  }

  async createSession(session: StoredSession): Promise<void> {
    return this.write('createSession', session);
  }

  async getSession(idSha256: string): Promise<StoredSession | undefined> {
    const r = this.stmts.getSession.get(idSha256) as Row | undefined;
    return r && sessionFromRow(r);
  }

  async touchSession(idSha256: string, lastSeenAt: number): Promise<void> {
    return this.write('touchSession', idSha256, lastSeenAt);
  }

  async deleteSession(idSha256: string): Promise<void> {
    return this.write('deleteSession', idSha256);
  }

  async deleteSubjectSessions(subject: string): Promise<number> {
    return this.write('deleteSubjectSessions', subject);
  }

  async prune(now: number, auditRetentionSeconds: number): Promise<PruneCounts> {
    return this.write('prune', now, auditRetentionSeconds);
  }

  /**
   * Group commit for the hot path: writes that arrive in the same turn of the
   * event loop go to the writer as one batch and share one transaction, so one
   * fsync (synchronous=FULL) serves them all. Each write runs in its own
   * savepoint, so one failure rolls back only itself; every promise settles
   * after the commit, never before. Writes that arrive while a batch is being
   * committed make up the next one.
   */
  private write<K extends keyof WriteOps>(
    op: K,
    ...args: Parameters<WriteOps[K]>
  ): Promise<ReturnType<WriteOps[K]>> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new Error('the store is closed'));
      this.queue.push({ request: { op, args }, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || !this.queue.length) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    if (this.inFlight || !this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    const requests = batch.map((w) => w.request);
    if (this.inProcess) {
      let reply: BatchReply;
      try {
        reply = { results: this.inProcess.commit(requests) };
      } catch (error) {
        reply = { error: errorInfo(error) };
      }
      this.settle(batch, reply);
      return this.idle();
    }
    let sent = batch;
    try {
      const worker = this.startWorker();
      try {
        worker.postMessage(requests);
      } catch {
        sent = this.cloneable(batch);
        if (!sent.length) return this.idle();
        worker.postMessage(sent.map((w) => w.request));
      }
      this.inFlight = sent;
      worker.ref(); // a write in flight keeps the process alive until it is committed
    } catch (error) {
      // No thread could be started (ERR_WORKER_INIT_FAILED): thrown here, in a
      // setImmediate callback, it would crash the process. Nothing was sent.
      for (const w of sent) w.reject(error);
      this.idle();
    }
  }

  private onReply(reply: BatchReply): void {
    const batch = this.inFlight;
    this.inFlight = undefined;
    if (batch) this.settle(batch, reply);
    // Writes queued meanwhile, and those the settled promises' continuations
    // issue in this same turn, go together as the next batch.
    this.schedule();
    // Idle, the writer must not keep a finished process (a CLI command, a test) alive.
    if (!this.queue.length) this.worker?.unref();
    this.idle();
  }

  private settle(batch: QueuedWrite[], reply: BatchReply): void {
    this.noteOutcome(reply);
    batch.forEach((w, i) => {
      const result = reply.error ? reply : reply.results[i]!;
      if (result.error) w.reject(this.asStoreError(toError(result.error)));
      else w.resolve(result.value);
    });
  }

  /**
   * A write refused by the storage under the file (disk full, I/O error,
   * read-only) or by a lock held past busy_timeout is the broker's temporary
   * trouble, not the caller's and not a bug: a 503 that says to retry, with
   * SQLite's error kept as the cause for the log.
   */
  private asStoreError(error: Error): Error {
    const code = (error as { code?: unknown }).code;
    const failure = writeFailure(this.path, error);
    if (failure === undefined && code !== 'SQLITE_BUSY') return error;
    // `problem` (the file, what is wrong, what to do) is for the operator: the log, the CLI.
    const problem =
      failure?.problem ??
      `database ${this.path} is locked by another process past busy_timeout; retry, and look for a process holding it`;
    return new BrokerError(
      'unavailable',
      'the broker cannot write to its database right now, so it issues and revokes nothing: retry in a minute (operators: /readyz says why)',
      { headers: { 'Retry-After': '60' }, detail: { sqlite: code, problem }, cause: error },
    );
  }

  /** Remembers a batch that failed for want of storage, and forgets it once one commits. */
  private noteOutcome(reply: BatchReply): void {
    // SQLite rolls back either the statement or the whole transaction on a full disk.
    const errors = reply.error ? [reply.error] : reply.results.flatMap((r) => r.error ?? []);
    const failure = errors.map((e) => writeFailure(this.path, e)).find((f) => f !== undefined);
    if (failure) {
      this.lastFailure = { ...failure, at: this.clock.now() };
      this.readyUntil = 0;
    } else if (!reply.error) this.lastFailure = undefined; // committed: the file takes writes again
  }

  /**
   * postMessage refused the batch: a write's arguments are not plain data (a
   * bug in its caller). That write fails alone, saying so; the others go.
   */
  private cloneable(batch: QueuedWrite[]): QueuedWrite[] {
    return batch.filter((w) => {
      try {
        structuredClone(w.request);
        return true;
      } catch (error) {
        w.reject(
          new Error(`store write ${w.request.op} was given something that is not plain data`, {
            cause: error,
          }),
        );
        return false;
      }
    });
  }

  private startWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./writer.mjs', import.meta.url), {
      workerData: { sqliteWriter: { path: this.path } },
    });
    worker.unref(); // referenced only while it has a batch (see send)
    // Only the current writer's reply settles the batch in flight: one from a
    // writer given up on ('error' comes before 'exit', and a reply it posted
    // can still be delivered in between) would settle the next writer's batch
    // before that batch is committed.
    worker.on('message', (reply: BatchReply) => {
      if (this.worker === worker) this.onReply(reply);
    });
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) =>
      this.lost(worker, new Error(`the SQLite writer thread exited with code ${code}`)),
    );
    this.worker = worker;
    return worker;
  }

  /**
   * The writer died: its batch's outcome is unknown (it may have committed
   * before the thread died), so that batch fails. The writes queued behind it
   * never reached the writer: a new writer takes them, as it takes the next.
   */
  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return; // already handled, or closed on purpose
    this.worker = undefined;
    const failed = this.inFlight ?? [];
    this.inFlight = undefined;
    for (const w of failed) w.reject(error);
    this.schedule();
    this.idle();
  }

  private idle(): void {
    if (this.inFlight || this.queue.length) return;
    for (const resolve of this.whenIdle.splice(0)) resolve();
  }

  private async shutdown(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.whenIdle.push(resolve);
      this.idle();
    });
    const worker = this.worker;
    if (worker) {
      this.worker = undefined; // its exit is expected now
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.ref(); // let it close its connection before the process may end
      worker.postMessage('close');
      await exited;
    }
    if (this.db.open) this.db.close();
  }
}
