import type { ClientError } from '../client/errors.js';
import { nodeHost, type Host } from './host.js';

/** What a CLI command may touch, injected so tests run commands in-process. */
export interface CliIO {
  /**
   * A command's stdout and stderr escape what could drive a terminal but keep
   * newlines (main.ts wraps them): a command still escapes each field it
   * prints with escapeForTerminal, so a field cannot start a line of its own.
   */
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /**
   * Reads standard input: all of it (for `--token -`), or up to the first
   * blank line (git's credential requests; git may keep the pipe open).
   */
  readStdin: (options?: { untilBlankLine?: boolean }) => Promise<string>;
  /** Parts of the machine a test replaces (network, time, terminal, browser, git); see host.ts. */
  host?: Partial<Host>;
}

/** SPEC section 6: 0 ok, 1 refused or invalid, 2 usage, 3 network error or broker unavailable. */
export type ExitCode = 1 | 2 | 3;

/** An expected failure: its message is printed as is, with its exit code (1 unless said). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = 1,
  ) {
    super(message);
  }
}

/** The exit code of a client failure: a network error or a broker that does not answer is 3. */
export function exitCodeOf(e: ClientError): ExitCode {
  if (e.code === 'usage') return 2;
  if (e.code === 'unavailable') return 3;
  return 1;
}

/** The real machine, with the test's replacements on top. */
export function hostFor(io: CliIO): Host {
  return { ...nodeHost(io.env), ...io.host };
}
