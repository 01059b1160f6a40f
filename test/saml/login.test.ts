import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ManualClock } from '../../src/shared/clock.js';
import { IDP_ENTITY_ID, IDP_SSO_URL, TestIdp } from '../helpers/saml-idp.js';
import {
  csrfOf,
  get,
  post,
  sessionCookie,
  startSamlBroker,
  type SamlTestBroker,
} from '../helpers/saml-broker.js';

let t: SamlTestBroker;
afterEach(() => t?.cleanup());

// What a login looks like over HTTP, on Node and Workers alike, is in
// test/contract/browser.test.ts; here, what needs the clock or the database.
describe('SAML login', () => {
  it('redirects to the IdP with an AuthnRequest whose id is kept in the browser, not the database', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request('/saml/login?return_to=%2Fsettings');
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(t.idp.ssoUrl);
    expect(location.searchParams.get('RelayState')).toBe('/settings');
    const { id } = await t.startLogin();
    expect(t.loginCookie).toContain(id);
    expect(await t.broker.sql('SELECT count(*) AS n FROM replay_guard')).toEqual([{ n: 0 }]);
  });

  it('logs a person in through the real ACS and sends them to return_to', async () => {
    t = await startSamlBroker();
    const { id, relayState } = await t.startLogin('/?from=cli');
    const res = await t.postAcs(t.response({ inResponseTo: id }), relayState!);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/?from=cli');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('__Host-tb_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    const page = await get(t, '/', sessionCookie(res)!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('alice@example.com');
    expect(html).toContain('ml-engineers');
    expect(html).toContain('write:models/acme/*');
    const [audit] = await t.broker.store.queryAudit({ event: 'login' });
    expect(audit).toMatchObject({
      outcome: 'success',
      subject: 'user:alice@example.com',
      source: 'web',
      policy: 'ml-engineers',
    });
  });

  it('finishes a login started before a restart (the request id lives in the browser cookie)', async () => {
    t = await startSamlBroker();
    const { id } = await t.startLogin();
    const broker = await t.broker.reopen();
    t.broker = broker;
    const res = await t.postAcs(t.response({ inResponseTo: id }));
    expect(res.status).toBe(303);
  });

  it('stores only the SHA-256 of the session id, and gives a new id at every login', async () => {
    t = await startSamlBroker();
    const first = await t.login();
    const second = await t.login();
    expect(first).not.toBe(second);
    const ids = (await t.broker.sql('SELECT id_sha256 FROM sessions')).map((r) => r.id_sha256);
    const value = second.split('=')[1]!;
    expect(ids).toContain(createHash('sha256').update(value).digest('hex'));
    expect(ids).not.toContain(value);
  });

  it('replaces the session this browser had when it logs in again', async () => {
    t = await startSamlBroker();
    const old = await t.login();
    const { id } = await t.startLogin();
    const res = await t.broker.app.request('/saml/acs', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Cookie: `${old}; ${t.loginCookie}`,
      },
      body: new URLSearchParams({ SAMLResponse: t.response({ inResponseTo: id }) }).toString(),
    });
    expect(res.status).toBe(303);
    expect((await get(t, '/', old)).status).toBe(302);
    expect(await t.sessionCount()).toBe(1);
  });

  it('ends a session after the idle timeout and after session_ttl, whatever the activity', async () => {
    t = await startSamlBroker({ sso: { session_ttl: '2h', session_idle_timeout: '30m' } });
    const idle = await t.login();
    t.clock.advance(29 * 60);
    expect((await get(t, '/', idle)).status).toBe(200);
    t.clock.advance(31 * 60);
    expect((await get(t, '/', idle)).status).toBe(302);

    const busy = await t.login();
    for (let i = 0; i < 4; i++) {
      t.clock.advance(25 * 60);
      expect((await get(t, '/', busy)).status).toBe(200);
    }
    t.clock.advance(25 * 60); // 2h05m after login
    const res = await get(t, '/', busy);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/saml/login?return_to=%2F');
  });

  it('shows a "no access" page, writes an audit row and starts no session for a person with no role', async () => {
    t = await startSamlBroker();
    const { id } = await t.startLogin();
    const res = await t.postAcs(
      t.response({
        inResponseTo: id,
        attributes: { email: ['bob@example.com'], groups: ['sales'] },
      }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('no role of this broker');
    expect(sessionCookie(res)).toBeUndefined();
    expect(await t.sessionCount()).toBe(0);
    const [row] = await t.broker.store.queryAudit({ event: 'login.no_access' });
    expect(row).toMatchObject({ outcome: 'denied', subject: 'user:bob@example.com' });
  });

  it('maps attributes by FriendlyName or URI, and roles on any attribute with globs', async () => {
    t = await startSamlBroker({
      sso: {
        roles: [
          {
            name: 'staff',
            when: { department: 'research-*', email: '*@example.com' },
            grant: ['read:**'],
          },
        ],
      },
    });
    const { id } = await t.startLogin();
    const res = await t.postAcs(
      t.response({
        inResponseTo: id,
        nameId: 'opaque-id-123',
        attributes: {
          'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': [
            'Carol@Example.com',
          ],
          department: ['sales', 'research-nlp'],
        },
      }),
    );
    expect(res.status).toBe(303);
    const html = await (await get(t, '/', sessionCookie(res)!)).text();
    expect(html).toContain('carol@example.com');
    expect(html).toContain('staff');
  });

  it('logs out: ends the session, audits it, and shows the logged-out page', async () => {
    t = await startSamlBroker();
    const cookie = await t.login();
    const res = await post(t, '/saml/logout', cookie, { csrf: await csrfOf(t, cookie) });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/saml/slo');
    expect(await t.sessionCount()).toBe(0);
    expect((await get(t, '/', cookie)).status).toBe(302);
    expect(await t.broker.store.queryAudit({ event: 'logout' })).toHaveLength(1);
    const bye = await t.broker.app.request('/saml/slo');
    expect(await bye.text()).toContain('You are logged out');
  });

  it('redirects to the IdP single logout URL with a LogoutRequest when the IdP has one', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
    const idp = new TestIdp(() => clock.now(), IDP_ENTITY_ID, IDP_SSO_URL, 'https://idp.test/slo');
    t = await startSamlBroker({
      clock,
      idp,
      saml: {
        idp: {
          entity_id: IDP_ENTITY_ID,
          entry_point: IDP_SSO_URL,
          certs: [idp.keys.certPem],
          slo_url: 'https://idp.test/slo',
        },
      },
    });
    const cookie = await t.login();
    const page = await get(t, '/', cookie);
    expect(page.headers.get('content-security-policy')).toContain(
      "form-action 'self' https://idp.test",
    );
    const res = await post(t, '/saml/logout', cookie, { csrf: await csrfOf(t, cookie) });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://idp.test/slo');
    expect(location.searchParams.get('SAMLRequest')).toBeTruthy();
    expect(await t.sessionCount()).toBe(0);
  });

  it('refuses a logout form without the CSRF field and keeps the session', async () => {
    t = await startSamlBroker();
    const cookie = await t.login();
    const res = await post(t, '/saml/logout', cookie, {});
    expect(res.status).toBe(403);
    expect(await t.sessionCount()).toBe(1);
  });
});
