// Types of writer.mjs (plain JavaScript: it is loaded as a worker by Node itself).
import type Database from 'better-sqlite3';
import type {
  AuditEvent,
  IssuedToken,
  IssueOutcome,
  NewKey,
  OneTimeKey,
  PruneCounts,
  StoredSession,
} from '../../store/types.js';

/** The writes BatchClient hands to the writer, by name; each runs in its own savepoint. */
export interface WriteOps {
  addKey(key: NewKey, retireCurrentAt?: number): void;
  pruneKeys(now: number): string[];
  recordIssue(token: IssuedToken, audit: AuditEvent, once?: OneTimeKey): IssueOutcome;
  revokeToken(jti: string, at: number, audit: AuditEvent): string[];
  revokeSubject(subject: string, at: number, audit: AuditEvent): string[];
  appendAudit(event: AuditEvent): void;
  claimOnce(key: string, expiresAt: number): boolean;
  createSession(session: StoredSession): void;
  touchSession(idSha256: string, lastSeenAt: number): void;
  deleteSession(idSha256: string): void;
  deleteSubjectSessions(subject: string): number;
  probe(at: number): void;
  prune(now: number, auditRetentionSeconds: number): PruneCounts;
}

export interface WriteRequest {
  op: keyof WriteOps;
  args: unknown[];
}

export interface ErrorInfo {
  message: string;
  code?: string;
}

export type WriteResult = { value: unknown; error?: undefined } | { error: ErrorInfo };

/** The writer thread's answer to one batch. */
export type BatchReply = { results: WriteResult[]; error?: undefined } | { error: ErrorInfo };

export const PRAGMAS: string[];

export function createWriter(db: Database.Database): {
  /** Throws when the transaction itself fails (BEGIN or COMMIT): then nothing was written. */
  commit(batch: WriteRequest[]): WriteResult[];
};

export function errorInfo(error: unknown): ErrorInfo;
