import { afterEach, describe, expect, it } from 'vitest';
import { EXCHANGE, form, introspect } from '../helpers/broker.js';
import { authorize, decide, inProcess, poll } from '../helpers/device.js';
import { csrfOf, get, post } from '../helpers/saml-broker.js';
import {
  PATCH_SCHEMA,
  entraUser,
  oktaUser,
  startScimBroker,
  type ScimTestBroker,
} from './scim-broker.js';

// The seed's promise: a person the directory removes loses access at once.
// A live session, a token minted on the person's page and a token narrowed
// from it all end in the write that deactivates them; their next SSO login
// is refused until the directory activates them again.

let t: ScimTestBroker;
afterEach(() => t?.cleanup());

const tokenIn = (html: string) => /id="new-token" readonly="" value="([^"]+)"/.exec(html)![1]!;
const REMOVED = 'your access was removed by your organisation&#39;s directory';

/** Logged in, with a token from the page and a narrower one exchanged from it. */
async function aliceWithTokens() {
  const cookie = await t.login();
  const csrf = await csrfOf(t, cookie);
  const minted = await post(t, '/tokens', cookie, { csrf, scope: 'read:**', ttl: '10m' });
  const token = tokenIn(await minted.text());
  const narrowed = await t.broker.app.request(
    '/token',
    form({
      grant_type: EXCHANGE.grant_type,
      subject_token: token,
      subject_token_type: EXCHANGE.access,
      scope: 'read:models/acme/bert',
    }),
  );
  expect(narrowed.status, await narrowed.clone().text()).toBe(200);
  const child = ((await narrowed.json()) as { access_token: string }).access_token;
  expect((await introspect(t.broker, token)).active).toBe(true);
  expect((await introspect(t.broker, child)).active).toBe(true);
  return { cookie, csrf, token, child };
}

async function loginAnswer(): Promise<Response> {
  const { id, relayState } = await t.startLogin();
  return t.postAcs(t.response({ inResponseTo: id }), relayState ?? undefined);
}

const deactivate = (id: string, how: 'okta' | 'entra' = 'entra') =>
  t.scim('PATCH', `/Users/${id}`, {
    schemas: [PATCH_SCHEMA],
    Operations: [
      how === 'entra'
        ? { op: 'Replace', path: 'active', value: 'False' }
        : { op: 'replace', value: { active: false } },
    ],
  });

describe('deactivation over SCIM', () => {
  it("ends the person's session, their token and what was narrowed from it at once, and refuses their next login", async () => {
    t = await startScimBroker();
    const id = (await (await t.scim('POST', '/Users', entraUser())).json()).id;
    const { cookie, csrf, token, child } = await aliceWithTokens();

    expect((await deactivate(id)).status).toBe(200);

    expect((await introspect(t.broker, token)).active).toBe(false);
    expect((await introspect(t.broker, child)).active).toBe(false);
    expect(await t.sessionCount()).toBe(0);
    // The person's page and its forms ask to log in again.
    const page = await get(t, '/', cookie);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/saml/login?return_to=%2F');
    const form = await post(t, '/tokens', cookie, { csrf, scope: 'read:**', ttl: '10m' });
    expect(form.status).toBe(401);
    expect(await form.text()).toContain('log in again');

    const again = await loginAnswer();
    expect(again.status).toBe(403);
    const html = await again.text();
    expect(html).toContain(REMOVED);
    expect(html).toContain('contact your administrator');
    expect(again.headers.getSetCookie().some((c) => /tb_session=[^;]/.test(c))).toBe(false);
    expect(await t.sessionCount()).toBe(0);

    const [deactivated] = await t.broker.store.queryAudit({ event: 'scim.user.deactivated' });
    expect(deactivated).toMatchObject({ subject: 'user:alice@example.com', source: 'scim' });
    expect(deactivated!.detail).toMatchObject({ sessions_ended: 1, device_codes_denied: 0 });
    expect([...(deactivated!.detail!.revoked as string[])].sort()).toHaveLength(2);
    const [refused] = await t.broker.store.queryAudit({ event: 'login.deprovisioned' });
    expect(refused).toMatchObject({ outcome: 'denied', subject: 'user:alice@example.com' });
  });

  it('denies a device code the person approved before the device collected its token, and sends /device to login', async () => {
    t = await startScimBroker();
    const id = (await (await t.scim('POST', '/Users', oktaUser())).json()).id;
    const cookie = await t.login();
    const device = await authorize(inProcess(t));
    expect((await decide(t, cookie, device.user_code)).status).toBe(303);

    await deactivate(id);

    const polled = await poll(inProcess(t), device.device_code);
    expect(polled).toMatchObject({ status: 400, body: { error: 'access_denied' } });
    const page = await get(t, `/device?user_code=${device.user_code}`, cookie);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toMatch(/^\/saml\/login\?return_to=%2Fdevice/);
    const [row] = await t.broker.store.queryAudit({ event: 'scim.user.deactivated' });
    expect(row!.detail).toMatchObject({ device_codes_denied: 1, sessions_ended: 1 });
  });

  it('refuses a login whose session was created just after a deactivation it had not seen', async () => {
    t = await startScimBroker();
    const id = (await (await t.scim('POST', '/Users', oktaUser())).json()).id;
    // The deactivation commits between the login's first check and its
    // session row, as a directory's PATCH racing the ACS can.
    const store = t.broker.store;
    const createSession = store.createSession.bind(store);
    store.createSession = async (session) => {
      expect((await deactivate(id)).status).toBe(200);
      return createSession(session);
    };
    const answer = await loginAnswer();
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain(REMOVED);
    expect(await t.sessionCount()).toBe(0);
  });

  it('keeps a deactivated person inactive through a PUT that leaves active out', async () => {
    t = await startScimBroker();
    const id = (await (await t.scim('POST', '/Users', oktaUser())).json()).id;
    await deactivate(id, 'okta');
    const withoutActive: Record<string, unknown> = oktaUser();
    delete withoutActive.active;
    const put = await t.scim('PUT', `/Users/${id}`, withoutActive);
    expect((await put.json()).active).toBe(false);
    expect((await loginAnswer()).status).toBe(403);
  });

  it('lets the person log in again once the directory reactivates them', async () => {
    t = await startScimBroker();
    const id = (await (await t.scim('POST', '/Users', oktaUser())).json()).id;
    await deactivate(id, 'okta');
    expect((await loginAnswer()).status).toBe(403);
    await t.scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'replace', value: { active: true } }],
    });
    const cookie = await t.login();
    expect((await get(t, '/', cookie)).status).toBe(200);
  });

  it('refuses a deleted person too, until the directory creates them again', async () => {
    t = await startScimBroker();
    const id = (await (await t.scim('POST', '/Users', oktaUser())).json()).id;
    const { token } = await aliceWithTokens();
    expect((await t.scim('DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await introspect(t.broker, token)).active).toBe(false);
    expect(await t.sessionCount()).toBe(0);
    expect(await (await loginAnswer()).text()).toContain(REMOVED);

    expect((await t.scim('POST', '/Users', oktaUser())).status).toBe(201);
    expect((await loginAnswer()).status).toBe(303);
  });

  it('ends the access of the person a user was when the directory changes their email', async () => {
    t = await startScimBroker();
    const id = (await (await t.scim('POST', '/Users', oktaUser())).json()).id;
    const { token } = await aliceWithTokens();
    const moved = await t.scim('PUT', `/Users/${id}`, oktaUser('alice.smith@example.com'));
    expect(moved.status).toBe(200);
    expect((await introspect(t.broker, token)).active).toBe(false);
    const [row] = await t.broker.store.queryAudit({ event: 'scim.user.updated' });
    expect(row).toMatchObject({
      subject: 'user:alice.smith@example.com',
      detail: { previous_subject: 'user:alice@example.com', sessions_ended: 1 },
    });
  });

  it('leaves people the directory never provisioned alone by default', async () => {
    t = await startScimBroker();
    await t.scim('POST', '/Users', oktaUser('bob@example.com'));
    expect((await loginAnswer()).status).toBe(303);
  });
});

describe('scim.require_provisioned', () => {
  it('lets only provisioned, active people log in', async () => {
    t = await startScimBroker({ require_provisioned: true });
    const refused = await loginAnswer();
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('has not given you access to this broker yet');
    const [row] = await t.broker.store.queryAudit({ event: 'login.deprovisioned' });
    expect(row!.reason).toContain('require_provisioned');

    const id = (await (await t.scim('POST', '/Users', oktaUser())).json()).id;
    expect((await loginAnswer()).status).toBe(303);
    await deactivate(id);
    expect(await (await loginAnswer()).text()).toContain(REMOVED);
  });
});
