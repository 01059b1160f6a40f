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
  /** Reads all of standard input (for `--token -`). */
  readStdin: () => Promise<string>;
}

/** An expected failure: its message is printed as is, and the exit code is 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}
