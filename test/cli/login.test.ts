import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closedPortUrl, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/broker.js';
import {
  denied,
  expiredToken,
  pending,
  slowDown,
  startDeviceStandIn,
  tokenAnswer,
  type DeviceStandIn,
} from './device-stand-in.js';
import { fakeHost, homeIn, recordingStatusLine, type Home } from './terminal-setup.js';

// `tokenbroker login` against the STAND-IN device responder (device-stand-in.ts)
// until the broker's device flow merges; then the first test below runs
// against the real broker, approved through a real SSO session.

const T0 = Date.UTC(2026, 0, 1);
const clock = { now: T0 };
let standIn: DeviceStandIn;
let home: Home;
let cleanup: () => void;
let opened: string[];

beforeEach(async () => {
  clock.now = T0;
  opened = [];
  standIn = await startDeviceStandIn(() => clock.now);
  const t = tempDir();
  cleanup = t.cleanup;
  home = homeIn(t.dir);
});
afterEach(async () => {
  await standIn.close();
  cleanup();
});

const T0s = T0 / 1000;
const aliceToken = (exp = T0s + 930) =>
  tokenAnswer(
    { sub: 'user:alice@example.com', aud: 'https://hub.test', scope: 'read:models/acme/*', exp },
    900,
  );

const login = (args: string[], host = {}, env: Record<string, string> = {}) =>
  runCli(['login', ...args], {
    cwd: '.',
    env: { ...home.env, ...env },
    host: fakeHost(clock, { opened, ...host }),
  });

describe('tokenbroker login', () => {
  it('prints the code and the URL, waits for the approval, and keeps the token 0600', async () => {
    const success = await aliceToken();
    standIn.polls.push(pending, pending, success);
    const r = await login([
      '--broker',
      standIn.url,
      '--scope',
      'read:models/acme/*',
      '--no-browser',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')).toEqual([
      `To log in to ${standIn.url}, open ${standIn.url}/device`,
      'and enter the code WDJB-MJHT (it expires in 10m).',
      'Open it in a browser on any device.',
      'waiting for the approval (checking every 5s; the code expires at 2026-01-01T00:10:00Z)',
      '',
    ]);
    expect(r.stdout).toBe(
      `logged in to ${standIn.url} as user:alice@example.com; scopes read:models/acme/*, valid until 2026-01-01T00:15:15Z (15m)\n`,
    );
    expect(opened).toEqual([]);
    expect(standIn.seen.find((s) => s.path === '/device_authorization')?.form).toEqual({
      client_id: 'tokenbroker-cli',
      scope: 'read:models/acme/*',
    });
    expect(home.file.get(standIn.url)).toEqual({
      access_token: success.body!.access_token,
      scope: 'read:models/acme/*',
      expires_at: T0s + 15 + 900,
      subject: 'user:alice@example.com',
      audience: 'https://hub.test',
      obtained_at: T0s + 15,
    });
    expect(lstatSync(home.file.path).mode & 0o777).toBe(0o600);
  });

  it('opens the complete verification URI in a browser when there is one', async () => {
    standIn.polls.push(await aliceToken());
    const r = await login(['--broker', standIn.url], {
      openBrowser: async (url: string) => {
        opened.push(url);
        return true;
      },
    });
    expect(r.code).toBe(0);
    expect(opened).toEqual([`${standIn.url}/device?user_code=WDJB-MJHT`]);
    expect(r.stderr).toContain('Opened in your browser: approve only if it shows this same code.');
  });

  it('on a terminal, turns a spinner with the time left instead of printing lines', async () => {
    standIn.polls.push(pending, slowDown, await aliceToken());
    const status = recordingStatusLine();
    const r = await login(['--broker', standIn.url, '--no-browser'], { statusLine: status });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('waiting for the approval (');
    expect(status.shown[0]).toBe('| waiting for the approval in the browser, 10:00 left');
    expect(status.shown[1]).toBe('/ waiting for the approval in the browser, 10:00 left');
    expect(status.shown[4]).toBe('| waiting for the approval in the browser, 9:59 left');
    expect(status.shown).toContain(
      '| waiting for the approval in the browser, 9:50 left (the broker asked to slow down: checking every 10s)',
    );
    expect(status.cleared).toBe(1);
  });

  it.each([
    [
      'denied in the browser',
      denied,
      'the login was denied in the browser: run `tokenbroker login` again if that was a mistake',
    ],
    [
      'left to expire',
      expiredToken,
      'the code expired before the login was approved (the code expired 3s ago): run `tokenbroker login` again',
    ],
  ])('exits 1 and keeps nothing when the login is %s', async (_name, answer, message) => {
    standIn.polls.push(pending, answer);
    const r = await login(['--broker', standIn.url, '--no-browser']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`tokenbroker: ${message}`);
    expect(home.file.read().brokers).toEqual({});
  });

  it('exits 3 when nothing answers at the broker URL', async () => {
    const url = await closedPortUrl();
    const r = await login(['--broker', url, '--no-browser']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /ECONNREFUSED \(tried 4 times\): check that the broker at .* is up\n$/,
    );
  });

  it('exits 1 when the broker offers no device login', async () => {
    standIn.omitDeviceEndpoint = true;
    const r = await login(['--broker', standIn.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `tokenbroker: the broker at ${standIn.url} offers no device login (its metadata has no device_authorization_endpoint): upgrade it, or take a token from its page\n`,
    );
  });

  it('shows what the broker sent escaped, so a code cannot drive the terminal', async () => {
    standIn.authorization.user_code = 'ABCD\u001b[2J\nEFGH';
    standIn.polls.push(denied);
    const r = await login(['--broker', standIn.url, '--no-browser']);
    expect(r.stderr).toContain('and enter the code ABCD\\x1b[2J\\nEFGH (it expires');
    expect(r.stderr).not.toContain('\u001b');
  });
});

describe('which broker login talks to', () => {
  it('takes TOKENBROKER_URL when --broker is not given', async () => {
    standIn.polls.push(await aliceToken());
    const r = await login(['--no-browser'], {}, { TOKENBROKER_URL: `${standIn.url}/` });
    expect(r.code).toBe(0);
    expect(Object.keys(home.file.read().brokers)).toEqual([standIn.url]);
  });

  it('takes the only broker logged in to, to log in again', async () => {
    standIn.polls.push(await aliceToken(), await aliceToken());
    await login(['--broker', standIn.url, '--no-browser']);
    const again = await login(['--no-browser']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`logged in to ${standIn.url} as`);
  });

  it('exits 2 without a broker to log in to, or with two to choose from', async () => {
    const none = await login([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      'tokenbroker: no broker given and no login stored: run `tokenbroker login --broker URL` (or set TOKENBROKER_URL)\n',
    );
    home.file.save('https://a.test', {
      access_token: 'a',
      scope: '',
      expires_at: 1,
      subject: 's',
      audience: 'https://hub.test',
      obtained_at: 0,
    });
    home.file.save('https://b.test', home.file.get('https://a.test')!);
    const two = await login([]);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain(
      'logged in to 2 brokers (https://a.test, https://b.test): say which',
    );
  });

  it('exits 2 on a bad --broker, --scope or --ttl before any request', async () => {
    for (const args of [
      ['--broker', 'http://broker.example.com'],
      ['--broker', standIn.url, '--scope', 'everything'],
      ['--broker', standIn.url, '--ttl', 'soon'],
    ]) {
      const r = await login(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(standIn.seen).toEqual([]);
  });
});

describe('tokenbroker login --setup-git', () => {
  it('makes git ask tokenbroker, and only tokenbroker, for the workspace, as gh auth setup-git does', async () => {
    standIn.polls.push(await aliceToken(), await aliceToken());
    for (let i = 0; i < 2; i++) {
      const r = await login(['--broker', standIn.url, '--no-browser', '--setup-git']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(
        'git now asks tokenbroker for https://hub.test: git config --global credential.https://hub.test.helper tokenbroker\n',
      );
    }
    // Twice over, still the same two lines: the empty one resets helpers set before it.
    const helpers = execFileSync(
      'git',
      ['config', '--global', '--get-all', 'credential.https://hub.test.helper'],
      { env: home.env as NodeJS.ProcessEnv, encoding: 'utf8' },
    );
    expect(helpers).toBe('\ntokenbroker\n');
  });
});
