import { readFileSync } from 'node:fs';
import { main } from './main.js';

// The executable: real process I/O around the in-process CLI.
const code = await main(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
  readStdin: async () => readFileSync(0, 'utf8'),
});
process.exitCode = code;
