import {
  chmodSync,
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import { CliError } from './io.js';

/**
 * The tokens `tokenbroker login` keeps: one JSON file, keyed by the broker's
 * URL (as parseBrokerUrl writes it: lower-case host, no default port, no
 * trailing slash). The folder is 0700 and the file 0600, owned by the user;
 * a file anyone else can read, or a folder anyone else can write, is refused
 * with the chmod to run, as ssh does with keys. A new version is written to a
 * temporary file in the same folder, flushed, then renamed over the old one:
 * the rename is atomic, so an interrupted write (Ctrl-C, a crash, a full
 * disk) leaves the old file whole, never half of the new one.
 */

export interface StoredLogin {
  access_token: string;
  /** Space-separated, as granted. */
  scope: string;
  /** Unix seconds, reckoned on this machine's clock from the token answer's expires_in. */
  expires_at: number;
  /** The token's `sub`. */
  subject: string;
  /** The token's `aud`: the workspace it is for. */
  audience: string | string[];
  /** Unix seconds. */
  obtained_at: number;
}

export interface Credentials {
  version: 1;
  brokers: Record<string, StoredLogin>;
}

const FILE = 'credentials.json';
/** A file of a few logins is a few KiB; anything far larger is not ours. */
const MAX_BYTES = 1024 * 1024;
/** A temporary file older than this was left by a write that was interrupted. */
const STALE_TEMP_MS = 60_000;

/**
 * `$XDG_CONFIG_HOME/tokenbroker/credentials.json`, else `~/.config/...`
 * (`%APPDATA%\tokenbroker` on Windows). A relative XDG_CONFIG_HOME is ignored,
 * as the XDG spec says.
 */
export function credentialsPath(
  env: Record<string, string | undefined>,
  platform: NodeJS.Platform,
  homedir: () => string,
): string {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'tokenbroker', FILE);
  if (platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'tokenbroker', FILE);
  return join(env.HOME || homedir(), '.config', 'tokenbroker', FILE);
}

export interface CredentialsOptions {
  /** Where the modes mean nothing (Windows), they are not checked. */
  checkModes?: boolean;
  /** Called between the flushed write and the rename; tests crash here. */
  beforeRename?: (tempPath: string) => void;
  /** Milliseconds since the epoch, for telling a stale temporary file. */
  now?: () => number;
}

export class CredentialsFile {
  private readonly dir: string;
  private readonly checkModes: boolean;

  constructor(
    readonly path: string,
    private readonly options: CredentialsOptions = {},
  ) {
    this.dir = dirname(path);
    this.checkModes = options.checkModes ?? process.platform !== 'win32';
  }

  /** Every stored login; none when the file does not exist yet. */
  read(): Credentials {
    let stat;
    try {
      stat = lstatSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, brokers: {} };
      throw this.problem(`cannot be read (${(e as Error).message})`, 'check its permissions');
    }
    if (!stat.isFile()) {
      throw this.problem(
        stat.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file',
        `tokenbroker replaces it on every login: move it away and run \`tokenbroker login\` again`,
      );
    }
    this.checkDir();
    if (this.checkModes) {
      if (stat.uid !== process.getuid?.()) {
        throw this.problem(
          'belongs to another user',
          'remove it and run `tokenbroker login` again as yourself',
        );
      }
      if ((stat.mode & 0o077) !== 0) {
        throw this.problem(
          `can be read or written by other users (mode ${octal(stat.mode)})`,
          `run \`chmod 600 ${this.path}\`; if anyone else could read it, run \`tokenbroker logout\` to revoke its tokens, then log in again`,
        );
      }
    }
    if (stat.size > MAX_BYTES) {
      throw this.problem(
        `is ${stat.size} bytes, far more than logins take`,
        'move it away and log in again',
      );
    }
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (e) {
      throw this.problem(
        `is not valid JSON (${(e as Error).message})`,
        'fix it, or move it away and run `tokenbroker login` again',
      );
    }
    return this.validate(data);
  }

  get(broker: string): StoredLogin | undefined {
    const { brokers } = this.read();
    return Object.hasOwn(brokers, broker) ? brokers[broker] : undefined;
  }

  save(broker: string, login: StoredLogin): void {
    const credentials = this.read();
    credentials.brokers[broker] = login;
    this.write(credentials);
  }

  /** Forgets one broker's login; false when there was none. */
  remove(broker: string): boolean {
    const credentials = this.read();
    if (!Object.hasOwn(credentials.brokers, broker)) return false;
    delete credentials.brokers[broker];
    this.write(credentials);
    return true;
  }

  private write(credentials: Credentials): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.checkDir();
    // A folder made before (or by hand) may still let others list it: the login's folder is 0700.
    if (this.checkModes && (lstatSync(this.dir).mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
    this.removeStaleTemps();
    const temp = join(this.dir, `.${FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      // wx: never through a file (or link) someone put there; 0600 from the first byte.
      const fd = openSync(temp, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(credentials, null, 2)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.options.beforeRename?.(temp);
      renameSync(temp, this.path);
    } catch (e) {
      try {
        unlinkSync(temp);
      } catch {
        // never written, or already renamed
      }
      throw this.problem(
        `could not be written (${(e as Error).message})`,
        'check the disk and the folder',
      );
    }
    syncDir(this.dir);
  }

  /** The folder must be a folder that no one else can write into (they could swap the file). */
  private checkDir(): void {
    let stat;
    try {
      stat = lstatSync(this.dir);
    } catch {
      return; // not there yet: write() creates it 0700
    }
    if (!stat.isDirectory()) {
      throw new CliError(
        `${this.dir} is not a folder: move it away and run \`tokenbroker login\` again`,
      );
    }
    if (this.checkModes && (stat.mode & 0o022) !== 0) {
      throw new CliError(
        `${this.dir} can be written by other users (mode ${octal(stat.mode)}): run \`chmod 700 ${this.dir}\``,
      );
    }
  }

  /** Temporary files of writes that were interrupted before their rename. */
  private removeStaleTemps(): void {
    const now = this.options.now?.() ?? Date.now();
    for (const name of readdirSync(this.dir)) {
      if (!name.startsWith(`.${FILE}.`) || !name.endsWith('.tmp')) continue;
      const path = join(this.dir, name);
      try {
        if (now - lstatSync(path).mtimeMs > STALE_TEMP_MS) unlinkSync(path);
      } catch {
        // another writer's, renamed or removed meanwhile
      }
    }
  }

  private validate(data: unknown): Credentials {
    const bad = (where: string, what: string) =>
      this.problem(
        `${where} ${what}`,
        'fix it, or move the file away and run `tokenbroker login` again',
      );
    if (!isObject(data))
      throw bad('is not a JSON object:', 'expected {"version": 1, "brokers": {...}}');
    if (typeof data.version === 'number' && data.version > 1) {
      throw this.problem(
        `was written by a newer tokenbroker (version ${data.version})`,
        'upgrade tokenbroker',
      );
    }
    if (data.version !== 1) throw bad('version', 'is not 1');
    if (!isObject(data.brokers)) throw bad('brokers', 'is not an object');
    const brokers: Record<string, StoredLogin> = {};
    for (const [url, entry] of Object.entries(data.brokers)) {
      const at = `brokers[${JSON.stringify(url)}]`;
      if (!isObject(entry)) throw bad(at, 'is not an object');
      for (const key of ['access_token', 'scope', 'subject'] as const) {
        if (typeof entry[key] !== 'string') throw bad(`${at}.${key}`, 'is not a string');
      }
      // It is handed to git and printed by `tokenbroker token`: one printable word, no line break.
      if (!/^[\x21-\x7e]{1,16384}$/.test(entry.access_token as string)) {
        throw bad(`${at}.access_token`, 'is not a token');
      }
      for (const key of ['expires_at', 'obtained_at'] as const) {
        if (typeof entry[key] !== 'number') throw bad(`${at}.${key}`, 'is not a number');
      }
      const aud = entry.audience;
      if (
        typeof aud !== 'string' &&
        !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
      ) {
        throw bad(`${at}.audience`, 'is not a string or a list of strings');
      }
      brokers[url] = entry as unknown as StoredLogin;
    }
    return { version: 1, brokers };
  }

  private problem(what: string, todo: string): CliError {
    return new CliError(`credentials file ${this.path} ${what}: ${todo}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** Makes the rename itself durable; a folder cannot be opened for this on Windows, where it is moot. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
