import { readFileSync } from 'node:fs';
import { readUntilBlankLine } from './host.js';
import type { CliIO } from './io.js';

/** This process's streams, environment and folder, for an executable's entry. */
export function processIo(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    readStdin: async (options) => {
      if (!options?.untilBlankLine) return readFileSync(0, 'utf8');
      const text = await readUntilBlankLine(process.stdin, 64 * 1024);
      // What git sends after the blank line (nothing) is not ours to wait for.
      process.stdin.destroy();
      return text;
    },
  };
}
