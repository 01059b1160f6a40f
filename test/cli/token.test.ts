import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/broker.js';
import { closedPortUrl, runCli } from '../helpers/cli.js';
import { startDeviceStandIn, tokenAnswer, type DeviceStandIn } from './device-stand-in.js';
import { fakeHost, homeIn, type Home } from './terminal-setup.js';

// `tokenbroker token`: the stored token when it will do, else a new login in a
// terminal, else a message for the script. The broker URL of a stored login is
// a closed port unless the test logs in again: a token handed out from the file
// must not need the broker.

const T0 = Date.UTC(2026, 0, 1);
const T0s = T0 / 1000;
const clock = { now: T0 };
let home: Home;
let cleanup: () => void;
let broker: string;

beforeAll(async () => {
  broker = await closedPortUrl();
});
beforeEach(() => {
  clock.now = T0;
  const t = tempDir();
  cleanup = t.cleanup;
  home = homeIn(t.dir);
});
afterEach(() => cleanup());

function store(
  secondsLeft: number,
  scope = 'read:models/acme/* write:models/acme/bert',
  url = broker,
) {
  home.file.save(url, {
    access_token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyOmFsaWNlIn0.c2ln',
    scope,
    expires_at: T0s + secondsLeft,
    subject: 'user:alice@example.com',
    audience: 'https://hub.test',
    obtained_at: T0s - 60,
  });
}

const token = (args: string[], host = {}) =>
  runCli(['token', ...args], { cwd: '.', env: home.env, host: fakeHost(clock, host) });

describe('tokenbroker token', () => {
  it.each([
    ['no scope asked', []],
    ['a scope it carries', ['--scope', 'write:models/acme/bert']],
    ['a scope under one of its globs', ['--scope', 'read:models/acme/gpt read:models/acme/bert']],
  ])('prints the stored token, alone, for %s, without asking the broker', async (_n, args) => {
    store(61);
    const r = await token(args);
    expect(r).toEqual({
      code: 0,
      stdout: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyOmFsaWNlIn0.c2ln\n',
      stderr: '',
    });
  });

  it.each([
    [60, [], 'the login to BROKER expires in 60s'],
    [-5, [], 'the login to BROKER expired at 2025-12-31T23:59:55Z'],
    [
      900,
      ['--scope', 'write:models/acme/gpt'],
      'the login to BROKER does not cover write:models/acme/gpt',
    ],
    [
      900,
      ['--scope', 'read:datasets/acme/x'],
      'the login to BROKER does not cover read:datasets/acme/x',
    ],
  ])(
    'refuses a token with %ss left for %j when no one is at the terminal, saying to log in',
    async (left, args, why) => {
      store(left);
      const r = await token(args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const scope = args[1] ? ` --scope '${args[1]}'` : '';
      expect(r.stderr).toBe(
        `tokenbroker: ${why.replace('BROKER', broker)}: run \`tokenbroker login --broker ${broker}${scope}\` in a terminal\n`,
      );
    },
  );

  it('says to log in when nothing is stored', async () => {
    const r = await token(['--broker', broker]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `tokenbroker: no login stored for ${broker}: run \`tokenbroker login --broker ${broker}\` in a terminal\n`,
    );
  });

  it('exits 2 on a malformed --scope', async () => {
    store(900);
    expect((await token(['--scope', 'nope'])).code).toBe(2);
  });
});

describe('tokenbroker token at a terminal', () => {
  let standIn: DeviceStandIn;
  beforeEach(async () => {
    standIn = await startDeviceStandIn(() => clock.now);
  });
  afterEach(() => standIn.close());

  it('logs in again when the token is about to expire, renewing its scopes, and prints the new one', async () => {
    store(30, 'read:models/acme/*', standIn.url);
    const fresh = await tokenAnswer(
      {
        sub: 'user:alice@example.com',
        aud: 'https://hub.test',
        scope: 'read:models/acme/*',
        exp: T0s + 905,
      },
      900,
    );
    standIn.polls.push(fresh);
    const r = await token([], { interactive: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${fresh.body!.access_token as string}\n`);
    expect(r.stderr).toMatch(
      new RegExp(
        `^tokenbroker: the login to ${standIn.url} expires in 30s; logging in again\\nTo log in to `,
      ),
    );
    expect(standIn.seen.find((s) => s.path === '/device_authorization')?.form.scope).toBe(
      'read:models/acme/*',
    );
    expect(home.file.get(standIn.url)?.access_token).toBe(fresh.body!.access_token);
  });
});
