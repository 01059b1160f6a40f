import { Command, CommanderError } from 'commander';
import { escapeForTerminal } from '../shared/terminal.js';
import { CliError, type CliIO } from './io.js';

/**
 * What every entry of the CLI shares, and nothing that loads the server: the
 * full `tokenbroker` (main.ts) and git's helper (terminal-main.ts), which git
 * runs on every fetch and push and so must start fast.
 */

/** A program whose usage errors and help go to the injected streams. */
export function newProgram(io: CliIO): Command {
  return new Command('tokenbroker')
    .description('Exchange CI OIDC tokens or SSO sessions for scoped, short-lived workspace tokens')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)');
}

/**
 * Runs the program and turns its outcome into an exit code: usage errors 2,
 * a CliError its own, anything `more` knows its answer, anything else 1 with
 * one escaped line (no stack trace).
 */
export async function runProgram(
  program: Command,
  argv: string[],
  io: CliIO,
  more: (e: unknown) => number | undefined = () => undefined,
): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    if (e instanceof CliError) {
      io.stderr(`tokenbroker: ${escapeLines(e.message)}\n`);
      return e.exitCode;
    }
    const known = more(e);
    if (known !== undefined) return known;
    const message = escapeForTerminal(String((e as Error)?.message ?? e));
    io.stderr(`tokenbroker: unexpected error: ${message}\n`);
    return 1;
  }
}

/**
 * The CLI's output, whatever the command: nothing it prints can drive the
 * terminal (see src/shared/terminal.ts). Commands escape each field they print
 * themselves, newlines included, so a field cannot forge a line; this is the
 * net under them, and keeps the newlines they put between lines.
 */
export function terminalSafe(io: CliIO): CliIO {
  const safe = (write: (text: string) => void) => (text: string) =>
    write(escapeForTerminal(text, { multiline: true }));
  return { ...io, stdout: safe(io.stdout), stderr: safe(io.stderr) };
}

/** An error message whose lines are the command's own: each line is escaped as a field. */
export const escapeLines = (message: string) =>
  message
    .split('\n')
    .map((line) => escapeForTerminal(line))
    .join('\n');
