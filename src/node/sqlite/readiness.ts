import { nowSeconds, type Clock } from '../../shared/clock.js';
import { BrokerError } from '../../shared/errors.js';
import { freeSpaceProblem, writeFailure, type WriteFailure } from './health.js';
import type { BatchReply } from './writer.mjs';

/** How long a healthy readiness answer is reused; a probe still runs every few seconds. */
const READY_REUSE_MS = 2000;

/** What the readiness check looks at; the store hands it its own parts. */
export interface ReadinessSources {
  /** The database file, for free space and for the operator's messages. */
  path: string;
  /** Free space under which the disk counts as full. */
  minFreeBytes: number;
  /** Times the reuse of a healthy answer and the age of the last failure. */
  clock: Clock;
  /** The read connection answers. */
  answers(): boolean;
  /** A real committed write through the writer, at `at` (seconds). */
  probe(at: number): Promise<void>;
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
export class Readiness {
  /** When (on the store's clock) and how the last real batch failed for want of storage. */
  private lastFailure: (WriteFailure & { at: number }) | undefined;
  private running: Promise<string[]> | undefined;
  /** Until when (clock ms) a healthy answer is reused. */
  private readyUntil = 0;

  constructor(private readonly sources: ReadinessSources) {}

  /** The problems, each saying what is wrong and what to do; none when ready. */
  problems(): Promise<string[]> {
    // /readyz answers anyone, and the probe is a commit (an fsync): a healthy
    // answer is reused for READY_REUSE_MS, and callers at the same time share
    // one check, so a loop of /readyz costs one fsync per moment. A problem
    // is never reused, and a real batch failing for want of storage ends the
    // reuse at once (noteBatch): /readyz still says what exchanges see.
    const { clock } = this.sources;
    if (clock.now() < this.readyUntil && this.sources.answers()) return Promise.resolve([]);
    this.running ??= this.check()
      .then((problems) => {
        if (problems.length === 0) this.readyUntil = clock.now() + READY_REUSE_MS;
        return problems;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Remembers a batch that failed for want of storage, and forgets it once one commits. */
  noteBatch(reply: BatchReply): void {
    const { path, clock } = this.sources;
    // SQLite rolls back either the statement or the whole transaction on a full disk.
    const errors = reply.error ? [reply.error] : reply.results.flatMap((r) => r.error ?? []);
    const failure = errors.map((e) => writeFailure(path, e)).find((f) => f !== undefined);
    if (failure) {
      this.lastFailure = { ...failure, at: clock.now() };
      this.readyUntil = 0;
    } else if (!reply.error) this.lastFailure = undefined; // committed: the file takes writes again
  }

  private async check(): Promise<string[]> {
    const { path, minFreeBytes, clock } = this.sources;
    if (!this.sources.answers()) return ['database does not answer'];
    const before = this.lastFailure; // an exchange's, or an earlier probe's, not this one's
    const problems: string[] = [];
    const space = await freeSpaceProblem(path, minFreeBytes);
    if (space) problems.push(space);
    try {
      await this.sources.probe(nowSeconds(clock));
    } catch (error) {
      // A storage failure reaches here as a 503 BrokerError with SQLite's error as its cause.
      const sqlite = error instanceof BrokerError ? error.cause : error;
      problems.push(writeFailure(path, sqlite)?.problem ?? 'database does not answer');
    }
    if (problems.length && before) {
      const ago = Math.round((clock.now() - before.at) / 1000);
      problems.push(`the last write failed ${ago}s ago: ${before.message}`);
    }
    return problems;
  }
}
