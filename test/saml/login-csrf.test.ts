import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, testConfig } from '../helpers/broker.js';
import { selfSignedCert } from '../helpers/x509.js';
import {
  ROLES,
  sessionCookie,
  startSamlBroker,
  type SamlTestBroker,
} from '../helpers/saml-broker.js';

/**
 * Login CSRF (session swapping): a response the IdP signed for the
 * attacker's own login must not log a victim's browser in. Each solicited
 * response is accepted only from the browser whose login cookie holds its
 * InResponseTo.
 */
let t: SamlTestBroker;
afterEach(() => t?.cleanup());

const count = (t: SamlTestBroker, table: string) =>
  (t.broker.store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('SAML login is bound to the browser that started it', () => {
  it('refuses a valid signed response posted by a client that did not start the login', async () => {
    t = await startSamlBroker();
    // The attacker starts a login in their own browser and gets a response for their account.
    const { id } = await t.startLogin();
    const response = t.response({ inResponseTo: id, nameId: 'mallory@example.com' });
    // The victim's browser, auto-posting the attacker's form, has no login cookie.
    const res = await t.postAcs(response, '/', null);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('its login cookie is missing');
    expect(sessionCookie(res)).toBeUndefined();
    expect(await t.sessionCount()).toBe(0);
    const [row] = await t.broker.store.queryAudit({ event: 'login.failed' });
    expect(row!.detail).toMatchObject({ check: 'login_binding' });
  });

  it('refuses it from a browser that has a login cookie of its own, for another login', async () => {
    t = await startSamlBroker();
    const attacker = await t.startLogin();
    const attackerResponse = t.response({ inResponseTo: attacker.id });
    const attackerCookie = t.loginCookie;
    t.loginCookie = undefined;
    await t.startLogin(); // the victim's own login, under way
    expect(t.loginCookie).not.toBe(attackerCookie);
    const res = await t.postAcs(attackerResponse);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('answers a login that was not started in this browser');
    expect(await t.sessionCount()).toBe(0);
    // The attacker's own browser, which did start it, can finish it.
    expect((await t.postAcs(attackerResponse, '/', attackerCookie)).status).toBe(303);
  });

  it('sets an HttpOnly, Secure, SameSite=None __Host- cookie for an https broker (the ACS POST is cross-site)', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request('/saml/login');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('__Host-tb_saml_login='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=None/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).toMatch(/Max-Age=1800/);
    expect(cookie).not.toMatch(/Domain=/);
  });

  it('uses SameSite=Lax without Secure on a plain-http (loopback) broker', async () => {
    const config = await testConfig({
      issuer: 'http://127.0.0.1:8787',
      sso: {
        saml: {
          idp: {
            entity_id: 'https://idp.test/metadata',
            entry_point: 'https://idp.test/sso',
            certs: [selfSignedCert('idp').certPem],
          },
        },
        roles: ROLES,
      },
    });
    const broker = await startBroker({ config });
    try {
      const res = await broker.app.request('/saml/login');
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('tb_saml_login='))!;
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      expect(cookie).not.toMatch(/Secure/);
    } finally {
      await broker.cleanup();
    }
  });

  it('keeps a few logins under way per browser (tabs), never more', async () => {
    t = await startSamlBroker();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await t.startLogin()).id);
    expect(t.loginCookie!.split('.')).toHaveLength(4);
    // The two most recent both finish.
    expect((await t.postAcs(t.response({ inResponseTo: ids[8]! }))).status).toBe(303);
    expect((await t.postAcs(t.response({ inResponseTo: ids[9]! }))).status).toBe(303);
    const old = await t.postAcs(t.response({ inResponseTo: ids[0]! }));
    expect(old.status).toBe(400);
  });
});

describe('GET /saml/login stores nothing (no unauthenticated growth)', () => {
  it('writes no row for any number of unauthenticated logins started, and one claim per finished login', async () => {
    t = await startSamlBroker();
    const guards = count(t, 'replay_guard');
    for (let i = 0; i < 200; i++) {
      const res = await t.broker.app.request('/saml/login');
      expect(res.status).toBe(302);
    }
    expect(count(t, 'replay_guard')).toBe(guards);
    // Responses that fail their checks add nothing either.
    const { id } = await t.startLogin();
    expect((await t.postAcs(t.response({ inResponseTo: id, audience: 'x' }))).status).toBe(400);
    expect(count(t, 'replay_guard')).toBe(guards);
    await t.login();
    expect(count(t, 'replay_guard')).toBe(guards + 2); // the assertion id and the request id
  });
});
