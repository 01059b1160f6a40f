import { afterEach, describe, expect, it } from 'vitest';
import { form } from '../helpers/broker.js';
import { authorize, decide, inProcess, pageCsrf, type Send } from '../helpers/device.js';
import {
  get,
  post,
  sessionCookie,
  startSamlBroker,
  type SamlTestBroker,
} from '../helpers/saml-broker.js';

// GET /device and its Approve and Deny buttons, with a real SAML session.

let t: SamlTestBroker;
afterEach(() => t?.cleanup());

async function setUp() {
  t = await startSamlBroker({
    clientAddress: (c) => c.req.header('x-test-address') ?? '192.0.2.10',
  });
  return { send: inProcess(t) as Send, cookie: await t.login() };
}

const statusOf = async (userCode: string) =>
  (await t.broker.store.getDeviceCodeByUserCode(userCode.replace('-', '')))?.status;

describe('the approval page', () => {
  it('marks what the requester states about itself, and warns when its address is not this browser’s', async () => {
    const { send, cookie } = await setUp();
    const here = await authorize(send, undefined, { 'x-test-address': '192.0.2.10' });
    const there = await authorize(send, undefined, { 'x-test-address': '203.0.113.9' });
    const page = async (userCode: string) =>
      (await get(t, `/device?user_code=${userCode}`, cookie)).text();
    const same = await page(here.user_code);
    expect(same).toContain('Program (as the requester states it)');
    expect(same).not.toContain('not this browser');
    const other = await page(there.user_code);
    expect(other).toContain('203.0.113.9');
    expect(other).toContain('not this browser&#39;s address, 192.0.2.10');
  });

  it('sends a visitor who is not logged in through SSO and back to the same page, the code kept', async () => {
    t = await startSamlBroker();
    const { user_code } = await authorize(inProcess(t));
    const typed = user_code.toLowerCase().replace('-', '');
    const res = await t.broker.app.request(`/device?user_code=${typed}`);
    expect(res.status).toBe(302);
    const login = new URL(res.headers.get('location')!, 'https://broker.test');
    expect(login.pathname).toBe('/saml/login');
    expect(login.searchParams.get('return_to')).toBe(`/device?user_code=${user_code}`);

    const { id, relayState } = await t.startLogin(login.searchParams.get('return_to')!);
    const acs = await t.postAcs(t.response({ inResponseTo: id }), relayState ?? undefined);
    expect(acs.status).toBe(303);
    expect(acs.headers.get('location')).toBe(`/device?user_code=${user_code}`);
    const page = await get(t, acs.headers.get('location')!, sessionCookie(acs)!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(user_code);
  });

  it('keeps no code in the login detour that could not be one', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request(`/device?user_code=${'x'.repeat(2000)}`);
    expect(res.status).toBe(302);
    const login = new URL(res.headers.get('location')!, 'https://broker.test');
    expect(login.searchParams.get('return_to')).toBe('/device');
  });

  it('asks for the code when none is given, in a form that comes back to this page', async () => {
    const { cookie } = await setUp();
    const res = await get(t, '/device', cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<form class="code" method="get" action="/device">');
    expect(html).toContain('name="user_code"');
  });

  it.each([
    ['in lower case without the dash', (c: string) => c.toLowerCase().replace('-', '')],
    ['with spaces around and inside', (c: string) => ` ${c.slice(0, 4)} ${c.slice(5)} `],
    ['in mixed case with the dash', (c: string) => c[0] + c.slice(1).toLowerCase()],
    ['with a pasted en dash', (c: string) => c.replace('-', '\u2013')],
  ])('finds a code typed %s', async (_name, typeIt) => {
    const { send, cookie } = await setUp();
    const { user_code } = await authorize(send);
    const res = await get(t, `/device?user_code=${encodeURIComponent(typeIt(user_code))}`, cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<p class="usercode" aria-label="Code">${user_code}</p>`);
    expect(html).toContain(`name="user_code" value="${user_code}"`);
  });

  it("shows the requester's address, program, time, scopes and lifetime, as text", async () => {
    const { send, cookie } = await setUp();
    const ua = '<script>alert(1)</script> "quoted" \u001b[31mred\u009b';
    const { user_code } = await authorize(
      send,
      { scope: 'read:models/acme/bert', ttl: '20m', client_id: '<b>cli</b>' },
      { 'User-Agent': ua, 'X-Test-Address': '203.0.113.9' },
    );
    t.clock.advance(90);
    const html = await (await get(t, `/device?user_code=${user_code}`, cookie)).text();
    expect(html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; \ufffd[31mred\ufffd',
    );
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('\u001b');
    expect(html).not.toContain('\u009b');
    expect(html).toContain('&lt;b&gt;cli&lt;/b&gt;');
    expect(html).toContain('203.0.113.9');
    expect(html).toContain('2026-01-15 12:00 UTC');
    expect(html).toContain('(1m30s ago)');
    expect(html).toContain('20m asked; the token would live 20m');
    expect(html).toContain('<td class="mono">read:models/acme/bert</td>');
    expect(html).toContain('<span class="pill">ml-engineers</span>');
    expect(html).toContain('action="/device/approve"');
    expect(html).toContain('action="/device/deny"');
  });

  it("offers no Approve for scopes beyond the person's roles, says which and why, and refuses a forged one", async () => {
    const { send, cookie } = await setUp();
    const { user_code } = await authorize(send, {
      scope: 'read:models/acme/bert write:datasets/acme/corpus',
    });
    const html = await (await get(t, `/device?user_code=${user_code}`, cookie)).text();
    expect(html).toMatch(
      /<td class="mono">write:datasets\/acme\/corpus<\/td><td><strong class="refused">not granted: none of your roles \(ml-engineers\) grants it<\/strong>/,
    );
    expect(html).toContain('one scope it asks for is beyond your roles');
    expect(html).not.toContain('action="/device/approve"');
    expect(html).toContain('action="/device/deny"');

    const csrf = await pageCsrf(t, cookie, user_code);
    const forged = await post(t, '/device/approve', cookie, { csrf, user_code });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain(
      'this request asks for scopes your roles do not grant, so it cannot be approved',
    );
    expect(await statusOf(user_code)).toBe('pending');
    expect(await t.broker.store.queryAudit({ event: 'device.approved' })).toEqual([]);
    // Deny is still there for it.
    expect((await decide(t, cookie, user_code, 'deny')).status).toBe(303);
    expect(await statusOf(user_code)).toBe('denied');
  });

  it.each([
    ['a malformed code', () => 'hello', 400, 'a code is 8 letters, shown as XXXX-XXXX'],
    ['a code that names no request', () => 'BCDF-BCDF', 404, 'no request has the code BCDF-BCDF'],
  ])('answers %s on the form, with what to do', async (_name, code, status, message) => {
    const { cookie } = await setUp();
    const res = await get(t, `/device?user_code=${code()}`, cookie);
    expect(res.status).toBe(status);
    const html = await res.text();
    expect(html).toContain(message);
    expect(html).toContain('name="user_code"');
  });

  it('tells someone else that a decided code was used, and the decider what came of it', async () => {
    const { send, cookie } = await setUp();
    const { user_code } = await authorize(send);
    await decide(t, cookie, user_code);
    const bob = await t.login({
      nameId: 'bob@example.com',
      attributes: { email: ['bob@example.com'], groups: ['ml-engineers'] },
    });
    const theirs = await get(t, `/device?user_code=${user_code}`, bob);
    expect(theirs.status).toBe(410);
    const text = await theirs.text();
    expect(text).toContain('This code was used already');
    expect(text).toContain('start again in your terminal');
    expect(text).not.toContain('alice');
    const mine = await get(t, `/device?user_code=${user_code}`, cookie);
    expect(mine.status).toBe(200);
    expect(await mine.text()).toContain('You approved this request');
    // Bob pressing a stale Approve changes nothing.
    const csrf = /name="csrf" value="([^"]+)"/.exec(text)![1]!;
    expect((await post(t, '/device/deny', bob, { csrf, user_code })).status).toBe(303);
    expect(await statusOf(user_code)).toBe('approved');
  });

  it.each([
    ['approve', 'without the CSRF field', {}],
    ['approve', 'with a wrong CSRF field', { csrf: 'forged' }],
    ['deny', 'without the CSRF field', {}],
    ['deny', 'with a wrong CSRF field', { csrf: 'forged' }],
  ])('refuses %s %s and leaves the request pending', async (verdict, _name, extra) => {
    const { send, cookie } = await setUp();
    const { user_code } = await authorize(send);
    const res = await post(t, `/device/${verdict}`, cookie, { user_code, ...extra });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('reload the page and try again');
    expect(await statusOf(user_code)).toBe('pending');
    expect(await t.broker.store.queryAudit({ event: `device.${verdict}d` })).toEqual([]);
  });

  it('refuses approve without a session', async () => {
    const { send } = await setUp();
    const { user_code } = await authorize(send);
    const res = await t.broker.app.request('/device/approve', form({ user_code, csrf: 'x' }));
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('you are not logged in');
    expect(await statusOf(user_code)).toBe('pending');
  });

  it('audits approve and deny with the person, their address, the scopes and the device code hash', async () => {
    const { send, cookie } = await setUp();
    const first = await authorize(send, { scope: 'read:models/acme/bert', ttl: '10m' });
    const second = await authorize(send, { scope: 'write:models/acme/bert' });
    await decide(t, cookie, first.user_code, 'approve');
    await decide(t, cookie, second.user_code, 'deny');
    const [approved] = await t.broker.store.queryAudit({ event: 'device.approved' });
    const [denied] = await t.broker.store.queryAudit({ event: 'device.denied' });
    expect(approved).toMatchObject({
      outcome: 'success',
      subject: 'user:alice@example.com',
      source: 'device',
      policy: 'ml-engineers',
      scopes: ['read:models/acme/bert'],
      clientAddress: '192.0.2.10',
      detail: {
        ttl: 600,
        requested: { client_address: '192.0.2.10', scopes: ['read:models/acme/bert'], ttl: 600 },
      },
    });
    expect(denied).toMatchObject({
      outcome: 'denied',
      subject: 'user:alice@example.com',
      scopes: ['write:models/acme/bert'],
    });
    const all = JSON.stringify(await t.broker.store.queryAudit({}));
    for (const code of [first, second]) {
      expect(all).not.toContain(code.device_code);
      expect(all).not.toContain(code.user_code.replace('-', ''));
    }
  });
});
