import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small tmpfs of its own, so a test can fill a filesystem for real. Needs
 * root (or CAP_SYS_ADMIN); `reason` says why not when mounting is impossible.
 */
export function smallFilesystem(size = '2m'): {
  dir: string;
  fill(): string;
  remount(options: string): void;
  unmount(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'tokenbroker-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  return {
    dir,
    /** Writes a file until the filesystem is full; returns its path (remove it to free the space). */
    fill() {
      const path = join(dir, 'filler');
      const fd = openSync(path, 'a');
      try {
        for (const size of [64 * 1024, 4096, 512, 1]) {
          const chunk = Buffer.alloc(size, 1);
          try {
            for (;;) writeSync(fd, chunk);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
          }
        }
      } finally {
        closeSync(fd);
      }
      return path;
    },
    remount(options: string) {
      execFileSync('mount', ['-o', `remount,${options}`, dir], { stdio: 'pipe' });
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmdirSync(dir);
    },
  };
}

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
export function cannotMount(): string | undefined {
  try {
    smallFilesystem('64k').unmount();
    return undefined;
  } catch (e) {
    return `mounting a tmpfs failed (${(e as Error).message.split('\n')[0]}): run as root, as CI does`;
  }
}

export const removeFile = (path: string) => rmSync(path, { force: true });
