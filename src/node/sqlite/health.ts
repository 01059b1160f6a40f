import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BrokerError } from '../../shared/errors.js';

/** A write that failed because of the storage under the file, not because of its data. */
export interface WriteFailure {
  /** For /readyz: what is wrong, where, and what to do. */
  problem: string;
  /** SQLite's own words. */
  message: string;
}

const kib = (bytes: number) => `${Math.floor(bytes / 1024)} KiB`;

/**
 * A failed write that says the file cannot take writes (as opposed to a
 * constraint, a busy lock or a closed store), or undefined.
 */
export function writeFailure(path: string, error: unknown): WriteFailure | undefined {
  const code = String((error as { code?: unknown })?.code ?? '');
  const message = (error as { message?: unknown })?.message;
  const text = typeof message === 'string' ? message : String(error);
  let problem: string | undefined;
  if (code === 'SQLITE_FULL') {
    problem = `database cannot be written: disk full at ${path}; free space on its filesystem`;
  } else if (code.startsWith('SQLITE_IOERR')) {
    problem = `database cannot be written: I/O error (${code}) at ${path}; check the disk and the kernel log`;
  } else if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN') {
    problem = `database cannot be written: ${code} at ${path}; make the file and its folder writable for the broker's user`;
  }
  return problem === undefined ? undefined : { problem, message: text };
}

/**
 * The free space left to the file's filesystem, as a problem when under
 * `minFreeBytes`. Nothing for `:memory:`, or where statfs is not supported.
 */
export async function freeSpaceProblem(
  path: string,
  minFreeBytes: number,
): Promise<string | undefined> {
  if (path === ':memory:') return undefined;
  let free: number;
  try {
    const fs = await statfs(dirname(path));
    // bavail, not bfree: what a non-root broker can use.
    free = fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
  if (free >= minFreeBytes) return undefined;
  return `database disk is full: ${kib(free)} free on the filesystem of ${path}, under the ${kib(minFreeBytes)} the broker needs to go on committing exchanges; free space there`;
}

/**
 * A write refused by the storage under the file (disk full, I/O error,
 * read-only) or by a lock held past busy_timeout is the broker's temporary
 * trouble, not the caller's and not a bug: a 503 that says to retry, with
 * SQLite's error kept as the cause for the log. Any other error is returned as is.
 */
export function storeError(path: string, error: Error): Error {
  const code = (error as { code?: unknown }).code;
  const failure = writeFailure(path, error);
  if (failure === undefined && code !== 'SQLITE_BUSY') return error;
  // `problem` (the file, what is wrong, what to do) is for the operator: the log, the CLI.
  const problem =
    failure?.problem ??
    `database ${path} is locked by another process past busy_timeout; retry, and look for a process holding it`;
  return new BrokerError(
    'unavailable',
    'the broker cannot write to its database right now, so it issues and revokes nothing: retry in a minute (operators: /readyz says why)',
    { headers: { 'Retry-After': '60' }, detail: { sqlite: code, problem }, cause: error },
  );
}
