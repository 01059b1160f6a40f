import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialsPath, CredentialsFile, type StoredLogin } from '../../src/cli/credentials.js';
import { CliError } from '../../src/cli/io.js';
import { tempDir } from '../helpers/broker.js';

let dir: string;
let cleanup: () => void;
let path: string;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  path = join(dir, 'config', 'tokenbroker', 'credentials.json');
});
afterEach(() => cleanup());

const login = (token: string, expiresAt = 2_000_000_000): StoredLogin => ({
  access_token: token,
  scope: 'read:models/acme/*',
  expires_at: expiresAt,
  subject: 'user:alice@example.com',
  audience: 'https://hub.test',
  obtained_at: 1_900_000_000,
});

const mode = (p: string) => lstatSync(p).mode & 0o777;

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return (e as Error).message;
  }
  throw new Error('expected a CliError');
}

describe('where the credentials live', () => {
  it.each([
    [
      'XDG_CONFIG_HOME when set',
      { XDG_CONFIG_HOME: '/x/conf', HOME: '/home/a' },
      'linux',
      '/x/conf/tokenbroker/credentials.json',
    ],
    [
      '~/.config without it',
      { HOME: '/home/a' },
      'linux',
      '/home/a/.config/tokenbroker/credentials.json',
    ],
    // The XDG spec: a relative path in XDG_CONFIG_HOME is invalid and ignored.
    [
      '~/.config when XDG_CONFIG_HOME is relative',
      { XDG_CONFIG_HOME: 'conf', HOME: '/home/a' },
      'linux',
      '/home/a/.config/tokenbroker/credentials.json',
    ],
    [
      'the home folder of the OS when HOME is unset',
      {},
      'linux',
      '/os/home/.config/tokenbroker/credentials.json',
    ],
  ] as const)('uses %s', (_name, env, platform, expected) => {
    expect(credentialsPath(env, platform, () => '/os/home')).toBe(expected);
  });
});

describe('the credentials file', () => {
  it('is created 0600 in a folder created 0700, whatever the umask', () => {
    const old = process.umask(0);
    try {
      new CredentialsFile(path).save('https://broker.test', login('t1'));
    } finally {
      process.umask(old);
    }
    expect(mode(path)).toBe(0o600);
    expect(mode(join(dir, 'config', 'tokenbroker'))).toBe(0o700);
    expect(new CredentialsFile(path).get('https://broker.test')).toEqual(login('t1'));
  });

  it('narrows a folder that others can list to 0700 when it writes', () => {
    mkdirSync(join(dir, 'config', 'tokenbroker'), { recursive: true });
    chmodSync(join(dir, 'config', 'tokenbroker'), 0o755);
    new CredentialsFile(path).save('https://broker.test', login('t1'));
    expect(mode(join(dir, 'config', 'tokenbroker'))).toBe(0o700);
  });

  it('keeps one login per broker, and forgets one without touching the others', () => {
    const file = new CredentialsFile(path);
    file.save('https://a.test', login('ta'));
    file.save('https://b.test', login('tb'));
    file.save('https://a.test', login('ta2'));
    expect(file.remove('https://a.test')).toBe(true);
    expect(file.remove('https://a.test')).toBe(false);
    expect(file.read().brokers).toEqual({ 'https://b.test': login('tb') });
  });

  it('is replaced by a rename: no temporary file is left, and the file stays 0600', () => {
    const file = new CredentialsFile(path);
    for (let i = 0; i < 5; i++) file.save('https://broker.test', login(`t${i}`));
    expect(readdirSync(join(dir, 'config', 'tokenbroker'))).toEqual(['credentials.json']);
    expect(mode(path)).toBe(0o600);
  });

  it('stays whole when the process dies between the write and the rename', async () => {
    const file = new CredentialsFile(path);
    file.save('https://broker.test', login('the-old-token'));
    const before = readFileSync(path);
    // A real crash: a child process saves a new login and is killed (SIGKILL,
    // nothing runs after it) once the new content is flushed to its temporary file.
    const script = resolve('test-output', `credentials-crash-${process.pid}.mjs`);
    await build({
      stdin: {
        contents: `
          import { CredentialsFile } from './src/cli/credentials.ts';
          const file = new CredentialsFile(process.argv[2], {
            beforeRename: () => process.kill(process.pid, 'SIGKILL'),
          });
          file.save('https://broker.test', ${JSON.stringify(login('the-new-token'))});
        `,
        resolveDir: resolve('.'),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'warning',
    });
    try {
      const child = spawnSync(process.execPath, [script, path]);
      expect(child.signal).toBe('SIGKILL');
    } finally {
      rmSync(script, { force: true });
    }
    expect(readFileSync(path)).toEqual(before);
    expect(file.get('https://broker.test')?.access_token).toBe('the-old-token');
    // The interrupted write left its temporary file (with the new token, 0600)...
    const folder = join(dir, 'config', 'tokenbroker');
    const [temp] = readdirSync(folder).filter((n) => n.endsWith('.tmp'));
    expect(temp).toBeDefined();
    expect(mode(join(folder, temp!))).toBe(0o600);
    // ...which a later write removes once it is stale.
    const later = new CredentialsFile(path, { now: () => Date.now() + 120_000 });
    later.save('https://broker.test', login('the-next-token'));
    expect(readdirSync(folder)).toEqual(['credentials.json']);
  });

  it('reads as empty before the first login', () => {
    expect(new CredentialsFile(path).read()).toEqual({ version: 1, brokers: {} });
  });

  it.each([
    [
      'bad JSON',
      (p: string) => writeFileSync(p, '{"version": 1, "brokers": {', { mode: 0o600 }),
      /^credentials file .*credentials\.json is not valid JSON \(.+\): fix it, or move it away and run `tokenbroker login` again$/,
    ],
    [
      'a file others can read',
      (p: string) => {
        writeFileSync(p, '{"version":1,"brokers":{}}');
        chmodSync(p, 0o644);
      },
      /^credentials file (.*credentials\.json) can be read or written by other users \(mode 0644\): run `chmod 600 \1`; if anyone else could read it, run `tokenbroker logout`/,
    ],
    [
      'a folder others can write',
      (p: string) => {
        writeFileSync(p, '{"version":1,"brokers":{}}', { mode: 0o600 });
        chmodSync(join(p, '..'), 0o777);
      },
      /^(.*tokenbroker) can be written by other users \(mode 0777\): run `chmod 700 \1`$/,
    ],
    [
      'a symbolic link',
      (p: string) => {
        writeFileSync(`${p}.real`, '{"version":1,"brokers":{}}', { mode: 0o600 });
        symlinkSync(`${p}.real`, p);
      },
      /credentials\.json is a symbolic link: tokenbroker replaces it on every login: move it away/,
    ],
    [
      "a newer tokenbroker's file",
      (p: string) => writeFileSync(p, '{"version":2,"brokers":{}}', { mode: 0o600 }),
      /was written by a newer tokenbroker \(version 2\): upgrade tokenbroker$/,
    ],
    [
      'an entry without its token',
      (p: string) =>
        writeFileSync(
          p,
          JSON.stringify({
            version: 1,
            brokers: { 'https://b.test': { ...login('x'), access_token: 5 } },
          }),
          { mode: 0o600 },
        ),
      /brokers\["https:\/\/b\.test"\]\.access_token is not a string: fix it, or move the file away/,
    ],
    [
      'a token with a line break, which would reach git as a second line',
      (p: string) =>
        writeFileSync(
          p,
          JSON.stringify({ version: 1, brokers: { 'https://b.test': login('a\nhost=evil.test') } }),
          { mode: 0o600 },
        ),
      /brokers\["https:\/\/b\.test"\]\.access_token is not a token/,
    ],
  ])('refuses %s with what to do', (_name, setup, message) => {
    mkdirSync(join(dir, 'config', 'tokenbroker'), { recursive: true, mode: 0o700 });
    setup(path);
    const file = new CredentialsFile(path);
    expect(refusal(() => file.read())).toMatch(message);
    // A write refuses as well: it would read, or land in, the same place.
    expect(() => file.save('https://broker.test', login('t'))).toThrow(CliError);
  });
});
