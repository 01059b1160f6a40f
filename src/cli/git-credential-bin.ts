import { processIo } from './process-io.js';
import { terminalMain } from './terminal-main.js';

// `git-credential-tokenbroker`: git runs the helper named `tokenbroker` as
// `git credential-tokenbroker <args>`, which is `tokenbroker git-credential <args>`.
process.exitCode = await terminalMain(['git-credential', ...process.argv.slice(2)], processIo());
