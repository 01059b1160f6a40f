import type { CliIO } from './io.js';
import { newProgram, runProgram, terminalSafe } from './run.js';
import { addTerminalCommands } from './terminal-commands.js';

/**
 * The terminal commands alone (login, token, logout, whoami, git-credential),
 * without the server's modules (SQLite, SAML, Hono, the config parser): what
 * `git-credential-tokenbroker` loads on every git fetch and push, in about a
 * third of the full CLI's start-up time.
 */
export async function terminalMain(argv: string[], rawIo: CliIO): Promise<number> {
  const io = terminalSafe(rawIo);
  const program = newProgram(io);
  addTerminalCommands(program, io);
  return runProgram(program, argv, io);
}
