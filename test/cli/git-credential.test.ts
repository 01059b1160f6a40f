import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setupGit } from '../../src/cli/git-setup.js';
import { nodeHost, readUntilBlankLine } from '../../src/cli/host.js';
import { startBroker, tempDir, testConfig, type TestBroker } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { fakeHost, homeIn, storeMinted, type Home } from './terminal-setup.js';

// The credential helper as git runs it: the real `git` binary, a temporary
// HOME, and the package's own executables (bin/tokenbroker.js and
// bin/git-credential-tokenbroker.js) on PATH around fresh bundles of the CLI,
// installed the way npm links them. The broker is never asked: the helper
// answers from the credentials file.

const BROKER = 'https://broker.test';
let install: string;
let pathDir: string;
let broker: TestBroker;
let home: Home;
let cleanup: () => void;

beforeAll(async () => {
  install = resolve('test-output', `git-helper-${process.pid}`);
  // The two entries of scripts/build.mjs the executables import.
  await build({
    entryPoints: { cli: 'src/cli/bin.ts', 'git-credential': 'src/cli/git-credential-bin.ts' },
    outdir: join(install, 'dist'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    loader: { '.sql': 'text' },
    logLevel: 'warning',
  });
  mkdirSync(join(install, 'bin'));
  pathDir = join(install, 'path');
  mkdirSync(pathDir);
  for (const [file, name] of [
    ['tokenbroker.js', 'tokenbroker'],
    ['git-credential-tokenbroker.js', 'git-credential-tokenbroker'],
  ] as const) {
    copyFileSync(join('bin', file), join(install, 'bin', file));
    symlinkSync(join(install, 'bin', file), join(pathDir, name));
  }
  broker = await startBroker();
}, 60_000);
afterAll(async () => {
  rmSync(install, { recursive: true, force: true });
  await broker.cleanup();
});
beforeEach(() => {
  const t = tempDir();
  cleanup = t.cleanup;
  home = homeIn(t.dir);
});
afterEach(() => cleanup());

/** `git [-c config]... credential <command>` with `request` on stdin. */
function git(command: 'fill' | 'approve' | 'reject', request: string, config: string[] = []) {
  return spawnSync('git', [...config.flatMap((c) => ['-c', c]), 'credential', command], {
    input: request,
    encoding: 'utf8',
    env: {
      ...home.env,
      PATH: `${pathDir}:${resolve(process.execPath, '..')}:${process.env.PATH}`,
      // No prompt: when no helper answers, git fails instead of asking.
      GIT_TERMINAL_PROMPT: '0',
    } as NodeJS.ProcessEnv,
  });
}

const request = (host: string, protocol = 'https') => `protocol=${protocol}\nhost=${host}\n\n`;
const answered = (stdout: string) =>
  Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/=(.*)/s).slice(0, 2)),
  );

describe('git credential fill with tokenbroker as the helper', () => {
  it.each([
    ['tokenbroker (git runs git-credential-tokenbroker)', 'tokenbroker'],
    ['a shell command', `!tokenbroker git-credential --broker ${BROKER}`],
  ])('answers the stored token for the workspace host, helper spelled %s', async (_n, helper) => {
    const token = await storeMinted(home, BROKER, broker);
    const r = git('fill', request('hub.test'), [`credential.https://hub.test.helper=${helper}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(answered(r.stdout)).toMatchObject({
      protocol: 'https',
      host: 'hub.test',
      username: 'tokenbroker',
      password: token,
    });
  });

  it('answers through the global config that login --setup-git writes', async () => {
    const token = await storeMinted(home, BROKER, broker);
    await setupGit(home.file.get(BROKER)!, nodeHost(home.env));
    const r = git('fill', request('hub.test'));
    expect(r.status).toBe(0);
    expect(answered(r.stdout).password).toBe(token);
  });

  it.each([
    ['another host', request('github.com')],
    ['plain http to the workspace host', request('hub.test', 'http')],
    ['ssh', request('hub.test', 'ssh')],
  ])('answers nothing, and says nothing, for %s: git asks its next helper', async (_n, input) => {
    await storeMinted(home, BROKER, broker);
    // Configured for every host, so that git does ask it.
    const r = git('fill', input, ['credential.helper=tokenbroker']);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('password=');
    expect(r.stderr).not.toContain('tokenbroker');
    expect(r.stderr).toContain('terminal prompts disabled');
  });

  it('answers for the host named by --host instead of the audience', async () => {
    const token = await storeMinted(home, BROKER, broker);
    const helper = 'credential.helper=!tokenbroker git-credential --host git.hub.test:8443';
    expect(answered(git('fill', request('git.hub.test:8443'), [helper]).stdout).password).toBe(
      token,
    );
    expect(git('fill', request('hub.test'), [helper]).stdout).not.toContain('password=');
  });

  it('answers nothing for a login with less than a minute left and tells the person to log in, never starting a login', async () => {
    await storeMinted(home, BROKER, broker, ['read:models/acme/*'], 30);
    const r = git('fill', request('hub.test'), ['credential.https://hub.test.helper=tokenbroker']);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('password=');
    expect(r.stderr).toMatch(
      /^tokenbroker: the login to https:\/\/broker\.test for hub\.test expires at \S+Z: run `tokenbroker login --broker https:\/\/broker\.test` in a terminal, then run git again\n/,
    );
  });

  it('tells the person to log in when there is no login at all', async () => {
    const r = git('fill', request('hub.test'), ['credential.https://hub.test.helper=tokenbroker']);
    expect(r.stdout).not.toContain('password=');
    expect(r.stderr).toContain(
      'tokenbroker: no tokenbroker login for hub.test: run `tokenbroker login --broker URL` in a terminal',
    );
  });
});

describe('git credential approve and reject', () => {
  it('store keeps nothing and erase forgets nothing: the login stays as it was', async () => {
    const token = await storeMinted(home, BROKER, broker);
    const before = readFileSync(home.file.path, 'utf8');
    const config = ['credential.https://hub.test.helper=tokenbroker'];
    const full = `protocol=https\nhost=hub.test\nusername=tokenbroker\npassword=${token}\n\n`;
    const approved = git('approve', full, config);
    expect(approved.status).toBe(0);
    expect(approved.stderr).toBe('');
    const rejected = git('reject', full, config);
    expect(rejected.status).toBe(0);
    expect(rejected.stderr).toBe(
      'tokenbroker: hub.test refused the token of your login to https://broker.test; the login is kept: `tokenbroker whoami` says whether the broker still holds it active, `tokenbroker login` gets a new one\n',
    );
    expect(readFileSync(home.file.path, 'utf8')).toBe(before);
  });
});

describe('tokenbroker git-credential, in process', () => {
  const helper = (args: string[], stdin: string) =>
    runCli(['git-credential', ...args], {
      cwd: '.',
      env: home.env,
      stdin,
      host: fakeHost({ now: broker.clock.now() }),
    });

  it('reads the host as URLs do: any case, the default port, or a url= line', async () => {
    const token = await storeMinted(home, BROKER, broker);
    for (const input of [
      request('HUB.test'),
      request('hub.test:443'),
      'url=https://hub.test/acme/bert.git\n\n',
    ]) {
      expect((await helper(['get'], input)).stdout, input).toContain(`password=${token}\n`);
    }
    for (const input of [
      request('hub.test:8443'),
      request('hub.test.evil.example'),
      request('hub.test/x'),
    ]) {
      expect((await helper(['get'], input)).stdout, input).toBe('');
    }
  });

  it('keeps the user name git already has, and says when the password expires', async () => {
    const token = await storeMinted(home, BROKER, broker);
    const r = await helper(['get'], 'protocol=https\nhost=hub.test\nusername=alice\n\n');
    expect(r.stdout).toBe(
      `username=alice\npassword=${token}\npassword_expiry_utc=${home.file.get(BROKER)!.expires_at}\n`,
    );
  });

  it('picks, among several brokers, the login whose audience is the host', async () => {
    const other = await startBroker({
      config: await testConfig({
        tokens: { audience: 'https://other.test', default_ttl: '15m', max_ttl: '1h' },
      }),
    });
    try {
      const hub = await storeMinted(home, BROKER, broker);
      const elsewhere = await storeMinted(home, 'https://other-broker.test', other);
      expect((await helper(['get'], request('hub.test'))).stdout).toContain(`password=${hub}\n`);
      expect((await helper(['get'], request('other.test'))).stdout).toContain(
        `password=${elsewhere}\n`,
      );
    } finally {
      await other.cleanup();
    }
  });

  it('sends no token for --host without --broker when two brokers are logged in, and says to name one', async () => {
    const other = await startBroker({
      config: await testConfig({
        tokens: { audience: 'https://other.test', default_ttl: '15m', max_ttl: '1h' },
      }),
    });
    try {
      await storeMinted(home, BROKER, broker);
      // The other broker's login lasts longer: it must still not reach hub.test.
      await storeMinted(home, 'https://other-broker.test', other, ['read:models/acme/*'], 3600);
      const r = await helper(['--host', 'hub.test', 'get'], request('hub.test'));
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('add --broker URL');
      const named = await helper(
        ['--host', 'hub.test', '--broker', BROKER, 'get'],
        request('hub.test'),
      );
      expect(named.stdout).toContain(`password=${home.file.get(BROKER)!.access_token}\n`);
    } finally {
      await other.cleanup();
    }
  });

  it('answers nothing when url= and host= name different hosts', async () => {
    await storeMinted(home, BROKER, broker);
    for (const input of [
      'protocol=https\nhost=evil.example\nurl=https://hub.test/\n\n',
      'url=https://hub.test/\nhost=evil.example\n\n',
      'protocol=http\nurl=https://hub.test/\n\n',
    ]) {
      expect((await helper(['get'], input)).stdout, input).toBe('');
    }
  });

  it('ignores actions it does not know, as git asks of helpers', async () => {
    await storeMinted(home, BROKER, broker);
    expect(await helper(['capability'], request('hub.test'))).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('says what is wrong with the credentials file on stderr, never on stdout', async () => {
    await storeMinted(home, BROKER, broker);
    chmodSync(home.file.path, 0o644);
    const r = await helper(['get'], request('hub.test'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('can be read or written by other users (mode 0644): run `chmod 600');
  });
});

describe('reading a request from git', () => {
  it('stops at the blank line even when git keeps the pipe open', async () => {
    const stdin = new PassThrough();
    const read = readUntilBlankLine(stdin, 64 * 1024);
    stdin.write('protocol=https\nhost=hub');
    stdin.write('.test\r\n\r\nnot=read\n');
    expect(await read).toBe('protocol=https\nhost=hub.test\r\n\r\n');
  });

  it('reads at most the bound from a stream that never sends a blank line', async () => {
    const stdin = new PassThrough();
    const read = readUntilBlankLine(stdin, 1024);
    for (let i = 0; i < 100; i++) stdin.write('x'.repeat(100));
    expect((await read).length).toBe(1024);
  });
});

describe('the git-credential-tokenbroker bundle', () => {
  it('loads none of the server (git runs it on every fetch and push, so it must start fast)', () => {
    const bundle = readFileSync(join(install, 'dist', 'git-credential.js'), 'utf8');
    const packages = new Set(
      [...bundle.matchAll(/^import .* from "([^".][^"]*)";$/gm)].map((m) => m[1]!.split('/')[0]),
    );
    expect([...packages].sort()).toEqual([
      'commander',
      'jose',
      'node:child_process',
      'node:crypto',
      'node:fs',
      'node:os',
      'node:path',
    ]);
  });
});
