import { readFileSync } from 'node:fs';
import { readUntilBlankLine } from './host.js';
import { main } from './main.js';

// The executable: real process I/O around the in-process CLI.
const code = await main(process.argv.slice(2), {
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
});
process.exitCode = code;
