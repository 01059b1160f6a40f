import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

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
