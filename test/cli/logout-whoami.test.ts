import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { introspect, tempDir } from '../helpers/broker.js';
import { closedPortUrl, runCli } from '../helpers/cli.js';
import { fakeHost, homeIn, listeningBroker, storeMinted, type Home } from './terminal-setup.js';

// `logout` and `whoami` against a real broker listening on loopback: tokens
// minted by its Minter, revoked through its /revoke, checked at its /me and
// /introspect.

let real: Awaited<ReturnType<typeof listeningBroker>>;
let home: Home;
let cleanup: () => void;
const clock = { now: 0 };

beforeAll(async () => {
  real = await listeningBroker();
});
afterAll(() => real.close());
beforeEach(() => {
  clock.now = real.broker.clock.now();
  const t = tempDir();
  cleanup = t.cleanup;
  home = homeIn(t.dir);
});
afterEach(() => cleanup());

const run = (args: string[]) => runCli(args, { cwd: '.', env: home.env, host: fakeHost(clock) });

describe('tokenbroker logout', () => {
  it('revokes the token at the broker and forgets it', async () => {
    const token = await storeMinted(home, real.url, real.broker);
    expect((await introspect(real.broker, token)).active).toBe(true);
    const r = await run(['logout']);
    expect(r).toEqual({
      code: 0,
      stdout: `logged out of ${real.url}: the token is revoked and forgotten\n`,
      stderr: '',
    });
    expect(await introspect(real.broker, token)).toEqual({ active: false });
    expect(home.file.read().brokers).toEqual({});
  });

  it('forgets the login when the broker is unreachable, says the token stays valid, and exits 3', async () => {
    const closed = await closedPortUrl();
    const token = await storeMinted(home, closed, real.broker);
    const expiresAt = home.file.get(closed)!.expires_at;
    const r = await run(['logout', '--broker', closed]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ECONNREFUSED (tried 4 times)');
    expect(r.stderr).toContain(
      `The login is forgotten here, but its token stays valid until ${new Date(expiresAt * 1000).toISOString().replace('.000', '')}: revoke it on the broker's page (${closed}/) when the broker answers again.\n`,
    );
    expect(home.file.read().brokers).toEqual({});
    expect((await introspect(real.broker, token)).active).toBe(true);
  });

  it('forgets an expired login without asking the broker', async () => {
    const closed = await closedPortUrl();
    await storeMinted(home, closed, real.broker, ['read:models/acme/*'], 60);
    clock.now += 61_000;
    const r = await run(['logout', '--broker', closed]);
    expect(r.code).toBe(0);
    expect(home.file.read().brokers).toEqual({});
  });

  it('has nothing to do without a login', async () => {
    const r = await run(['logout', '--broker', real.url]);
    expect(r).toEqual({
      code: 0,
      stdout: '',
      stderr: `tokenbroker: no login stored for ${real.url}: nothing to do\n`,
    });
  });
});

describe('tokenbroker whoami', () => {
  const expiry = (home: Home, url: string) =>
    new Date(home.file.get(url)!.expires_at * 1000).toISOString().replace('.000', '');

  it('shows who the token is for, its scopes and expiry, and that the broker holds it active', async () => {
    await storeMinted(home, real.url, real.broker, [
      'read:models/acme/*',
      'write:models/acme/bert',
    ]);
    const r = await run(['whoami']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `broker:    ${real.url}`,
        'subject:   user:alice@example.com',
        'scopes:    read:models/acme/* write:models/acme/bert',
        `expires:   ${expiry(home, real.url)} (in 15m)`,
        'workspace: https://hub.test',
        'active:    yes (the broker says so; source web)',
        '',
      ].join('\n'),
    );
  });

  it('says the broker no longer holds a revoked token active, and exits 1', async () => {
    const token = await storeMinted(home, real.url, real.broker);
    await real.broker.app.request('/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    });
    const r = await run(['whoami', '--broker', real.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('active:    no: token has been revoked: get a new one\n');
    expect(r.stderr).toBe(
      `tokenbroker: the token is no longer active: run \`tokenbroker login --broker ${real.url}\`\n`,
    );
  });

  it('prints what it knows and exits 3 when the broker cannot be asked', async () => {
    const closed = await closedPortUrl();
    await storeMinted(home, closed, real.broker);
    const r = await run(['whoami']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('subject:   user:alice@example.com\n');
    expect(r.stdout).not.toContain('active:');
    expect(r.stderr).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/me failed: ECONNREFUSED \(tried 4 times\)/,
    );
  });

  it('says to log in when nothing is stored', async () => {
    const r = await run(['whoami', '--broker', real.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `tokenbroker: no login stored for ${real.url}: run \`tokenbroker login --broker ${real.url}\`\n`,
    );
  });
});
