import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { revokeByOperator } from '../../src/exchange/revoke.js';
import { form, introspect, testConfig } from '../helpers/broker.js';
import {
  DEVICE_GRANT,
  authorize,
  decide,
  inProcess,
  overHttp,
  poll,
  verifyAgainstJwks,
} from '../helpers/device.js';
import { serveFetch } from '../helpers/runtime.js';
import { ROLES, get, post, startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

// The device flow end to end (RFC 8628): a terminal asks for a code, a person
// approves it on /device through a real SAML login, the terminal polls the
// token endpoint. Time moves on the broker's ManualClock, never by sleeping.

let t: SamlTestBroker;
let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
  await t?.cleanup();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function setUp(config: Record<string, unknown> = {}) {
  t = await startSamlBroker({ config });
  return { send: inProcess(t), cookie: await t.login() };
}

describe('the device flow, end to end', () => {
  it('gives a terminal, over a listening broker, the token of the person who approved its code', async () => {
    t = await startSamlBroker();
    const server = await serveFetch(t.broker.app.fetch);
    closeServer = server.close;
    const device = overHttp(server.url);

    const res = await device('/device_authorization', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'User-Agent': 'tokenbroker-cli/0.1 (linux)',
      },
      body: 'scope=read%3Amodels%2Facme%2Fbert',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const started = (await res.json()) as Record<string, string>;
    expect(await poll(device, started.device_code!)).toMatchObject({
      status: 400,
      body: { error: 'authorization_pending' },
    });

    // The person opens verification_uri_complete, logged in through SSO.
    const cookie = await t.login();
    const pagePath = new URL(started.verification_uri_complete!).pathname;
    const search = new URL(started.verification_uri_complete!).search;
    const shown = await (await get(t, `${pagePath}${search}`, cookie)).text();
    expect(shown).toContain(started.user_code);
    expect(shown).toContain('read:models/acme/bert');
    expect(shown).toContain('tokenbroker-cli/0.1 (linux)');
    const approved = await decide(t, cookie, started.user_code!);
    expect(approved.status).toBe(303);
    expect(approved.headers.get('location')).toBe(`/device?user_code=${started.user_code}`);
    expect(await (await get(t, approved.headers.get('location')!, cookie)).text()).toContain(
      'You approved this request',
    );

    t.clock.advance(5);
    const got = await poll(device, started.device_code!);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      token_type: 'Bearer',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      expires_in: 900,
      scope: 'read:models/acme/bert',
    });
    const token = got.body.access_token as string;
    const claims = await verifyAgainstJwks(t, token, device);
    expect(claims).toMatchObject({
      sub: 'user:alice@example.com',
      scope: 'read:models/acme/bert',
      client_id: 'device',
    });
    expect((await t.broker.store.getToken(claims.jti!))?.source).toBe('device');

    // On the person's page with the others, and revocable there.
    const personal = await (await get(t, '/', cookie)).text();
    expect(personal).toContain(`/tokens/${claims.jti}/revoke`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(personal)![1]!;
    expect((await post(t, `/tokens/${claims.jti}/revoke`, cookie, { csrf })).status).toBe(303);
    expect((await introspect(t.broker, token)).active).toBe(false);

    // Audited with the device code's hash, never the code itself.
    const rows = (await t.broker.store.queryAudit({})).filter((r) => r.event !== 'login');
    expect(rows.map((r) => r.event)).toEqual(['device.approved', 'token.issued', 'token.revoked']);
    expect(rows[0]).toMatchObject({
      subject: 'user:alice@example.com',
      source: 'device',
      policy: 'ml-engineers',
      scopes: ['read:models/acme/bert'],
      detail: {
        device_code_sha256: sha256(started.device_code!),
        requested: { user_agent: 'tokenbroker-cli/0.1 (linux)' },
      },
    });
    expect(rows[1]).toMatchObject({ source: 'device', jti: claims.jti, policy: 'ml-engineers' });
    expect(JSON.stringify(rows)).not.toContain(started.device_code);
  });

  it('answers authorization_pending while nobody has decided, and writes no audit row per poll', async () => {
    const { send } = await setUp();
    const { device_code, user_code } = await authorize(send);
    for (let i = 0; i < 3; i++) {
      const { status, body } = await poll(send, device_code);
      expect(status).toBe(400);
      expect(body).toEqual({
        error: 'authorization_pending',
        error_description: `waiting for a person to approve code ${user_code} at https://broker.test/device: poll again in 5s`,
      });
      t.clock.advance(5);
    }
    expect(await t.broker.store.queryAudit({ event: 'token.denied' })).toEqual([]);
  });

  it('answers slow_down to a device polling faster than its interval, which grows by 5 s each time', async () => {
    const { send } = await setUp();
    const { device_code } = await authorize(send);
    const errorAfter = async (seconds: number) => {
      t.clock.advance(seconds);
      return (await poll(send, device_code)).body;
    };
    expect(await errorAfter(0)).toMatchObject({ error: 'authorization_pending' });
    expect(await errorAfter(2)).toMatchObject({
      error: 'slow_down',
      error_description:
        'polling too fast: wait at least 10s between requests for this device code',
    });
    expect(await errorAfter(9)).toMatchObject({ error: 'slow_down' }); // 9 < 10: now 15
    expect(await errorAfter(14)).toMatchObject({ error: 'slow_down' }); // 14 < 15: now 20
    expect(await errorAfter(20)).toMatchObject({
      error: 'authorization_pending',
      error_description: expect.stringMatching(/poll again in 20s$/),
    });
    expect(await t.broker.store.queryAudit({ event: 'token.denied' })).toEqual([]);
  });

  it('tells a device that its request was denied (access_denied) and issues nothing', async () => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send);
    expect((await decide(t, cookie, user_code, 'deny')).status).toBe(303);
    for (let i = 0; i < 2; i++) {
      t.clock.advance(5);
      expect(await poll(send, device_code)).toEqual({
        status: 400,
        body: {
          error: 'access_denied',
          error_description:
            'the request was denied on the approval page: start again (tokenbroker login) if that was a mistake',
        },
      });
    }
    expect(await t.broker.store.listTokens({})).toEqual([]);
    const [denied] = await t.broker.store.queryAudit({ event: 'device.denied' });
    expect(denied).toMatchObject({
      outcome: 'denied',
      subject: 'user:alice@example.com',
      detail: { device_code_sha256: sha256(device_code) },
    });
    // The device's refusal is recorded once with its detail; the repeat is a small counted row.
    const refusals = await t.broker.store.queryAudit({ event: 'token.denied' });
    expect(refusals.map((r) => r.tokenSha256)).toEqual([sha256(device_code), sha256(device_code)]);
    expect(refusals[1]!.detail).toMatchObject({ repeat: 2 });
  });

  it('expires a code after 10 minutes: expired_token for the device, and the page says to start again', async () => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send);
    t.clock.advance(600);
    expect(await poll(send, device_code)).toMatchObject({
      status: 400,
      body: { error: 'expired_token', error_description: expect.stringMatching(/start again/) },
    });
    const page = await get(t, `/device?user_code=${user_code}`, cookie);
    expect(page.status).toBe(410);
    const html = await page.text();
    expect(html).toContain('This code has expired');
    expect(html).not.toContain('action="/device/approve"');
    // An approval posted from a page loaded in time changes nothing now: back to the page that says so.
    const late = await decide(t, cookie, user_code);
    expect(late.status).toBe(303);
    expect(await t.broker.store.queryAudit({ event: 'device.approved' })).toEqual([]);
    expect((await poll(send, device_code)).body.error).toBe('expired_token');
  });

  it('issues one token for a code: redeeming it again is refused', async () => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send);
    await decide(t, cookie, user_code);
    expect((await poll(send, device_code)).status).toBe(200);
    t.clock.advance(5);
    expect(await poll(send, device_code)).toEqual({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description:
          'this device code was already used: an approval gives one token; start again (tokenbroker login) for another',
      },
    });
    expect(await t.broker.store.listTokens({})).toHaveLength(1);
    expect(await (await get(t, `/device?user_code=${user_code}`, cookie)).text()).toContain(
      'Your terminal has its token',
    );
  });

  it('gives no token for a code approved by a person an operator revoked before the device collected it', async () => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send);
    expect((await decide(t, cookie, user_code)).status).toBe(303);
    await revokeByOperator({ subject: 'user:alice@example.com' }, t.broker);
    t.clock.advance(5);
    expect(await poll(send, device_code)).toMatchObject({
      status: 400,
      body: { error: 'access_denied' },
    });
    expect(await t.broker.store.listTokens({})).toHaveLength(0);
    const [revoked] = await t.broker.store.queryAudit({ event: 'token.revoked' });
    expect(revoked!.detail).toMatchObject({ device_codes_denied: 1 });
  });

  it('gives exactly one token to two concurrent redemptions of the same code', async () => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send);
    await decide(t, cookie, user_code);
    const both = await Promise.all([poll(send, device_code), poll(send, device_code)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(both.find((r) => r.status === 400)!.body.error).toBe('invalid_grant');
    expect(await t.broker.store.listTokens({})).toHaveLength(1);
    expect(await t.broker.store.queryAudit({ event: 'token.issued' })).toHaveLength(1);
  });

  it.each([
    [
      'a person who lost their role since approving gets access_denied',
      [{ ...ROLES[0], when: { groups: 'admins' } }],
      'access_denied',
      /user:alice@example\.com approved this request, but no role of this broker \(sso\.roles\) includes them any more/,
    ],
    [
      'a scope the roles no longer grant is refused as invalid_scope',
      [{ ...ROLES[0], grant: ['read:datasets/**'] }],
      'invalid_scope',
      /your roles do not let you request read:models\/acme\/bert: .* ask your administrator/,
    ],
  ])('matches roles again at redemption: %s', async (_name, roles, error, description) => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send);
    await decide(t, cookie, user_code);
    // The operator changes sso.roles and restarts, between the approval and the poll.
    const { idp } = t;
    const changed = await testConfig({
      sso: {
        saml: {
          idp: { entity_id: idp.entityId, entry_point: idp.ssoUrl, certs: [idp.keys.certPem] },
        },
        roles,
      },
    });
    const restarted = createApp({
      config: changed,
      store: t.broker.store,
      keys: t.broker.keys,
      clock: t.clock,
    });
    const res = await poll(async (path, init) => restarted.request(path, init), device_code);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error,
      error_description: expect.stringMatching(description),
    });
    expect(await t.broker.store.listTokens({})).toEqual([]);
  });

  it("caps the token's lifetime at the role's max_ttl, as the page said", async () => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send, {
      scope: 'read:models/acme/bert',
      ttl: '8h',
    });
    const page = await (await get(t, `/device?user_code=${user_code}`, cookie)).text();
    expect(page).toContain('8h asked; the token would live 30m');
    await decide(t, cookie, user_code);
    expect((await poll(send, device_code)).body).toMatchObject({ expires_in: 30 * 60 });
  });

  it('gives everything the roles grant when the device named no scope', async () => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send, {});
    const page = await (await get(t, `/device?user_code=${user_code}`, cookie)).text();
    expect(page).toContain('No scope was named');
    await decide(t, cookie, user_code);
    expect((await poll(send, device_code)).body).toMatchObject({
      scope: 'read:** write:models/acme/*',
    });
  });

  it('binds the code to the client_id it was asked with, and puts that client_id in the token', async () => {
    const { send, cookie } = await setUp();
    const { device_code, user_code } = await authorize(send, {
      scope: 'read:models/acme/bert',
      client_id: 'tokenbroker-cli',
    });
    await decide(t, cookie, user_code);
    expect(await poll(send, device_code)).toMatchObject({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description:
          'device_code was issued to client_id "tokenbroker-cli": send the same client_id as to /device_authorization',
      },
    });
    const got = await poll(send, device_code, { client_id: 'tokenbroker-cli' });
    expect(got.status).toBe(200);
    const claims = await verifyAgainstJwks(t, got.body.access_token as string);
    expect(claims.client_id).toBe('tokenbroker-cli');
  });

  it('refuses a device code it never issued, and records the refusal without a subject', async () => {
    const { send } = await setUp();
    expect(await poll(send, 'not-a-device-code')).toMatchObject({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description: expect.stringMatching(/start the device flow again/),
      },
    });
    const [row] = await t.broker.store.queryAudit({ event: 'token.denied' });
    expect(row).toMatchObject({
      subject: null,
      source: 'device',
      tokenSha256: sha256('not-a-device-code'),
    });
  });

  it('refuses a device code request without a device_code, before any lookup', async () => {
    const { send } = await setUp();
    const res = await send('/token', form({ grant_type: DEVICE_GRANT }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'parameter device_code is required',
    });
    expect(await t.broker.store.queryAudit({ event: 'token.denied' })).toEqual([]);
  });
});
