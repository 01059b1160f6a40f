import Database from 'better-sqlite3';
import { setImmediate } from 'node:timers';
import { Worker } from 'node:worker_threads';
import {
  createWriter,
  errorInfo,
  type BatchReply,
  type ErrorInfo,
  type WriteOps,
  type WriteRequest,
} from './writer.mjs';

interface QueuedWrite {
  request: WriteRequest;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** What the store learns from the batches, and how it words their failures. */
export interface BatchHooks {
  /** Every batch's reply, before any of its writes settles. */
  settled(reply: BatchReply): void;
  /** The error a write that SQLite refused rejects with. */
  failure(error: Error): Error;
}

/** SQLite's error as thrown by better-sqlite3, code included, though it was raised in the writer. */
const toError = ({ message, code }: ErrorInfo): Error =>
  code === undefined ? new Error(message) : new Database.SqliteError(message, code);

/**
 * The main thread's side of the writer (writer.mjs): it batches the store's
 * writes and hands each batch to the writer thread, one batch at a time, so
 * batches commit in order. Given a connection instead of a path (a
 * `:memory:` database, which a thread cannot open) it commits in-process.
 */
export class BatchClient {
  private readonly path: string | undefined;
  private readonly inProcess: ReturnType<typeof createWriter> | undefined;
  private worker: Worker | undefined;
  private queue: QueuedWrite[] = [];
  /** The batch the writer is committing; at most one, so batches commit in order. */
  private inFlight: QueuedWrite[] | undefined;
  private scheduled = false;
  private closing: Promise<void> | undefined;
  private whenIdle: Array<() => void> = [];

  /** `target`: the file's absolute path (a writer thread opens it), or the connection to write in-process. */
  constructor(
    target: string | Database.Database,
    private readonly hooks: BatchHooks,
  ) {
    if (typeof target === 'string') this.path = target;
    else this.inProcess = createWriter(target);
  }

  /**
   * Group commit for the hot path: writes that arrive in the same turn of the
   * event loop go to the writer as one batch and share one transaction, so one
   * fsync (synchronous=FULL) serves them all. Each write runs in its own
   * savepoint, so one failure rolls back only itself; every promise settles
   * after the commit, never before. Writes that arrive while a batch is being
   * committed make up the next one.
   */
  write<K extends keyof WriteOps>(
    op: K,
    ...args: Parameters<WriteOps[K]>
  ): Promise<ReturnType<WriteOps[K]>> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new Error('the store is closed'));
      this.queue.push({ request: { op, args }, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Settles the queued writes, then stops the writer thread. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
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
    try {
      const worker = this.startWorker();
      worker.postMessage(requests);
      this.inFlight = batch;
      worker.ref(); // a write in flight keeps the process alive until it is committed
    } catch (error) {
      // No thread could be started (ERR_WORKER_INIT_FAILED), or an argument is
      // not plain data (a caller's bug: the ops take rows and audit events).
      // Thrown here, in a setImmediate callback, it would crash the process.
      // Nothing was sent.
      for (const w of batch) w.reject(error);
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
    this.hooks.settled(reply);
    batch.forEach((w, i) => {
      const result = reply.error ? reply : reply.results[i]!;
      if (result.error) w.reject(this.hooks.failure(toError(result.error)));
      else w.resolve(result.value);
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
  }
}
