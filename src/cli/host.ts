import { execFile, spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { DEFAULT_RETRY, type RetryOptions } from '../client/retry.js';
import { escapeForTerminal } from '../shared/terminal.js';

/**
 * What the commands that talk to a broker reach beyond their text streams:
 * the network, time, the terminal, a browser, git. Tests replace any part
 * through `CliIO.host`, so that no test waits for real time, opens a browser
 * or reads the developer's own terminal.
 */
export interface Host {
  fetch: typeof fetch;
  /** Retries of one request (the polling of a device flow keeps its own pace). */
  retry: Omit<RetryOptions, 'onRetry'>;
  /** Milliseconds since the epoch. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /**
   * A person is at the keyboard: stdin and stderr are terminals. stderr, not
   * stdout, because stdout carries `tokenbroker token`'s answer and is captured
   * by `$(...)` exactly when a person typed the command; the device flow talks
   * on stderr.
   */
  interactive: boolean;
  /** A line on stderr redrawn in place (the login spinner); undefined when stderr is no terminal. */
  statusLine: StatusLine | undefined;
  /** Opens a URL in the person's browser; false when there is none to open. */
  openBrowser: (url: string) => Promise<boolean>;
  /** Runs git with these arguments; never through a shell. */
  git: (args: string[]) => Promise<{ code: number; stderr: string }>;
  platform: NodeJS.Platform;
  /** The home folder, when $HOME is not set. */
  homedir: () => string;
}

export interface StatusLine {
  /** Replaces the line with `text` (escaped here, cut to the terminal's width). */
  show(text: string): void;
  clear(): void;
}

/** The environment variables a command sees. */
export type Env = Record<string, string | undefined>;

/** The real machine: this process's terminal, the network, real time, `env` for children. */
export function nodeHost(env: Env): Host {
  const stderrIsTty = process.stderr.isTTY === true;
  return {
    fetch: globalThis.fetch.bind(globalThis),
    retry: DEFAULT_RETRY,
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    interactive: process.stdin.isTTY === true && stderrIsTty,
    statusLine: stderrIsTty ? ttyStatusLine(process.stderr) : undefined,
    openBrowser: (url) => openBrowser(url, process.platform, env),
    git: (args) => runGit(args, env),
    platform: process.platform,
    homedir,
  };
}

function ttyStatusLine(stream: NodeJS.WriteStream): StatusLine {
  return {
    show(text) {
      // One row only: a line that wraps cannot be redrawn with a carriage return.
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      const line = escapeForTerminal(text);
      stream.write(`\r${line.length > width ? line.slice(0, width) : line}\x1b[K`);
    },
    clear() {
      stream.write('\r\x1b[K');
    },
  };
}

/**
 * The program that opens a URL in the browser here, or undefined: `open` on
 * macOS, `xdg-open` on Linux and the BSDs when a graphical session is there
 * (DISPLAY or WAYLAND_DISPLAY; over SSH there is none and the URL is only
 * printed), the URL handler on Windows (not `start`, which goes through cmd
 * and would read `&` in the URL as a second command).
 */
export function browserCommand(
  url: string,
  platform: NodeJS.Platform,
  env: Env,
): [string, string[]] | undefined {
  if (platform === 'darwin') return ['open', [url]];
  if (platform === 'win32') return ['rundll32', ['url.dll,FileProtocolHandler', url]];
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return ['xdg-open', [url]];
  return undefined;
}

function openBrowser(url: string, platform: NodeJS.Platform, env: Env): Promise<boolean> {
  const command = browserCommand(url, platform, env);
  if (!command) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(command[0], command[1], {
      stdio: 'ignore',
      detached: true,
      env: env as NodeJS.ProcessEnv,
    });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

function runGit(args: string[], env: Env): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { env: env as NodeJS.ProcessEnv }, (error, _stdout, stderr) => {
      if (!error) return resolve({ code: 0, stderr });
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      resolve({
        code: typeof error.code === 'number' ? error.code : 127,
        stderr: missing ? 'git is not installed (or not on PATH)' : stderr || error.message,
      });
    });
  });
}

/**
 * Standard input up to the first blank line or the end, at most `maxBytes`:
 * git writes a credential request, then may wait for the answer with the pipe
 * still open, so reading to the end could wait forever.
 */
export async function readUntilBlankLine(
  stream: NodeJS.ReadableStream,
  maxBytes: number,
): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const end = blankLineEnd(text);
    if (end !== undefined) return text.slice(0, end);
    if (text.length > maxBytes) return text.slice(0, maxBytes);
  }
  return text;
}

/** Where the first blank line ends (LF or CRLF), or undefined. */
function blankLineEnd(text: string): number | undefined {
  if (text.startsWith('\n')) return 1;
  if (text.startsWith('\r\n')) return 2;
  const lf = text.indexOf('\n\n');
  const crlf = text.indexOf('\n\r\n');
  const ends = [lf < 0 ? -1 : lf + 2, crlf < 0 ? -1 : crlf + 3].filter((i) => i >= 0);
  return ends.length ? Math.min(...ends) : undefined;
}
