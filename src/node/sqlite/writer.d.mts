// Types of writer.mjs (plain JavaScript: it is loaded as a worker by Node itself).
import type Database from 'better-sqlite3';
import type {
  AuditEvent,
  DeviceDecision,
  IssuedToken,
  IssueOutcome,
  NewDeviceCode,
  NewKey,
  OneTime,
  PruneCounts,
  ScimWrite,
  ScimWriteOutcome,
  StoredSession,
} from '../../store/types.js';

/** The writes BatchClient hands to the writer, by name; each runs in its own savepoint. */
export interface WriteOps {
  addKey(key: NewKey, retireCurrentAt?: number): void;
  pruneKeys(now: number): string[];
  recordIssue(token: IssuedToken, audit: AuditEvent, once?: OneTime): IssueOutcome;
  revokeToken(jti: string, at: number, audit: AuditEvent): string[];
  revokeSubject(subject: string, at: number, audit: AuditEvent): string[];
  writeScimUser(write: ScimWrite): ScimWriteOutcome;
  appendAudit(event: AuditEvent): void;
  claimOnce(key: string, expiresAt: number): boolean;
  createDeviceCode(code: NewDeviceCode): boolean;
  decideDeviceCode(deviceCodeSha256: string, decision: DeviceDecision, audit: AuditEvent): boolean;
  /** The row as SQLite returns it (the store maps it), after the poll was recorded. */
  pollDeviceCode(
    deviceCodeSha256: string,
    now: number,
  ): { row: Record<string, unknown>; tooFast: boolean } | undefined;
  createSession(session: StoredSession): void;
  touchSession(idSha256: string, lastSeenAt: number): void;
  deleteSession(idSha256: string): void;
  deleteSubjectSessions(subject: string, audit?: AuditEvent): number;
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
