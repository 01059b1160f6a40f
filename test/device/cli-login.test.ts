import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { decide } from '../helpers/device.js';
import { listen } from '../helpers/listen.js';
import { get, startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

/*
 * `tokenbroker login` as a person runs it: the built CLI in a child process,
 * a real broker listening on loopback, the code approved through a real SAML
 * session. The CLI waits the broker's real interval (5 s) between polls, so
 * the broker's clock runs with the wall clock here (and can still be moved).
 */
class WallClock extends ManualClock {
  private readonly start = performance.now();
  override now(): number {
    return super.now() + Math.floor(performance.now() - this.start);
  }
}

let t: SamlTestBroker | undefined;
let closeServer: (() => Promise<void>) | undefined;
let home: string | undefined;
afterEach(async () => {
  await closeServer?.();
  await t?.cleanup();
  if (home) rmSync(home, { recursive: true, force: true });
  t = closeServer = home = undefined;
});

/** A broker whose issuer is the loopback URL it listens on, with SAML login and roles. */
async function listeningSamlBroker() {
  const late: { t?: SamlTestBroker } = {};
  const front = await listen((req) => late.t!.broker.app.fetch(req));
  closeServer = front.close;
  t = await startSamlBroker({ clock: new WallClock(Date.now()), config: { issuer: front.url } });
  late.t = t;
  const cookie = await t.login({
    acsUrl: `${front.url}/saml/acs`,
    audience: `${front.url}/saml/metadata`,
  });
  return { url: front.url, cookie, t };
}

function runLogin(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['bin/tokenbroker.js', 'login', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = new Promise<string>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(stderr);
      if (m) resolve(m[1]!);
    });
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, exit, out: () => ({ stdout, stderr }) };
}

describe('tokenbroker login against a real broker', () => {
  it('prints a code, waits while a person approves it in their SSO session, and keeps the token 0600', async () => {
    const { url, cookie, t } = await listeningSamlBroker();
    home = mkdtempSync(join(tmpdir(), 'tokenbroker-login-'));
    const login = runLogin(['--broker', url, '--scope', 'read:models/acme/bert', '--no-browser'], {
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
    });
    const userCode = await login.code;

    // Before the person decides, the CLI keeps waiting (a pending poll, no answer yet).
    const page = await (await get(t, `/device?user_code=${userCode}`, cookie)).text();
    expect(page).toContain('read:models/acme/bert');
    expect(page).toContain('tokenbroker-cli'); // what the CLI sent (user agent, client_id), shown to the approver
    expect((await decide(t, cookie, userCode)).status).toBe(303);

    expect(await login.exit).toBe(0);
    const { stdout, stderr } = login.out();
    expect(stderr).toContain(`${url}/device`);
    expect(stdout).toContain('user:alice@example.com');

    const file = join(home, '.config', 'tokenbroker', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.config', 'tokenbroker')).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as {
      brokers: Record<string, { access_token: string; scope: string }>;
    };
    const entry = Object.values(stored.brokers)[0]!;
    expect(entry.scope).toBe('read:models/acme/bert');

    const jwks = await (await fetch(`${url}/jwks`)).json();
    const { payload } = await jwtVerify(entry.access_token, createLocalJWKSet(jwks), {
      issuer: url,
      audience: 'https://hub.test',
      currentDate: new Date(t.clock.now()),
    });
    expect(payload).toMatchObject({
      sub: 'user:alice@example.com',
      scope: 'read:models/acme/bert',
    });
    // The person sees it among their tokens, as a device login.
    const rows = await t.broker.store.listTokens({ subject: 'user:alice@example.com' });
    expect(rows.map((r) => [r.jti, r.source])).toContainEqual([payload.jti, 'device']);
  }, 30_000);

  it('exits 1 and keeps nothing when the person denies the code', async () => {
    const { url, cookie, t } = await listeningSamlBroker();
    home = mkdtempSync(join(tmpdir(), 'tokenbroker-login-'));
    const login = runLogin(['--broker', url, '--no-browser'], {
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
    });
    expect((await decide(t, cookie, await login.code, 'deny')).status).toBe(303);
    expect(await login.exit).toBe(1);
    expect(login.out().stderr).toMatch(/denied/);
    expect(() => statSync(join(home!, '.config', 'tokenbroker', 'credentials.json'))).toThrow();
  }, 30_000);
});
