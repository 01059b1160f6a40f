import { afterEach, describe, expect, it } from 'vitest';
import { introspect, mintFor } from '../helpers/broker.js';
import { get, post, type SamlTestBroker } from '../helpers/saml-broker.js';
import { adminPage, loginAdmin, loginAlice, startAdminBroker } from './admin-broker.js';

let t: SamlTestBroker;
afterEach(() => t?.cleanup());

const revokePath = (jti: string) => `/admin/tokens/${encodeURIComponent(jti)}/revoke`;
const ALICE_SUBJECT = 'user:alice@example.com';

describe('the admin page: who may use it', () => {
  it('sends a logged-out browser to the SSO login, coming back to /admin', async () => {
    t = await startAdminBroker();
    const res = await t.broker.app.request('/admin', { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/saml/login?return_to=%2Fadmin');
  });

  it('refuses a person no admin role includes with a 403 page, and none of the buttons acts for them', async () => {
    t = await startAdminBroker();
    const alice = await loginAlice(t);
    const token = await mintFor(t.broker, ['read:models/acme/a']);

    const page = await adminPage(t, alice.cookie);
    expect(page.status).toBe(403);
    expect(page.html).toContain('No access');
    expect(page.html).toContain('none of your roles (sso.roles) has admin: true');
    expect(page.html).toContain('href="/"');
    expect(page.html).not.toContain(token.jti);

    const revoke = await post(t, revokePath(token.jti), alice.cookie, { csrf: alice.csrf });
    expect(revoke.status).toBe(403);
    expect((await introspect(t.broker, token.token)).active).toBe(true);

    const end = await post(t, '/admin/subjects/end-sessions', alice.cookie, {
      csrf: alice.csrf,
      subject: ALICE_SUBJECT,
    });
    expect(end.status).toBe(403);
    expect((await get(t, '/', alice.cookie)).status).toBe(200);
    expect(await t.broker.store.queryAudit({ event: 'session.ended' })).toEqual([]);
  });

  it("refuses an admin's form without the page's CSRF field, or with another session's", async () => {
    t = await startAdminBroker();
    const admin = await loginAdmin(t);
    const alice = await loginAlice(t);
    const token = await mintFor(t.broker, ['read:models/acme/a']);
    const forms: Array<Record<string, string>> = [
      {},
      { csrf: '' },
      { csrf: alice.csrf },
      { csrf: `${admin.csrf}x` },
    ];
    for (const params of forms) {
      const res = await post(t, revokePath(token.jti), admin.cookie, params);
      expect(res.status).toBe(403);
      const html = await res.text();
      expect(html).toContain('This form has expired');
      expect(html).toContain('href="/admin"');
      const end = await post(t, '/admin/subjects/end-sessions', admin.cookie, {
        ...params,
        subject: ALICE_SUBJECT,
      });
      expect(end.status).toBe(403);
    }
    expect((await introspect(t.broker, token.token)).active).toBe(true);
    expect((await get(t, '/', alice.cookie)).status).toBe(200);
  });

  it('answers a logged-out form with the login page, not an action', async () => {
    t = await startAdminBroker();
    const token = await mintFor(t.broker, ['read:models/acme/a']);
    const res = await post(t, revokePath(token.jti), 'tb_session=nope', { csrf: 'x' });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('Please log in');
    expect((await introspect(t.broker, token.token)).active).toBe(true);
  });
});

describe('the admin page: revoking and ending sessions', () => {
  it("revokes any subject's token: it introspects inactive, and the audit row names the admin", async () => {
    t = await startAdminBroker();
    const admin = await loginAdmin(t);
    const token = await mintFor(t.broker, ['read:models/acme/a']);
    const other = await mintFor(t.broker, ['read:models/acme/b']);

    const before = await adminPage(t, admin.cookie);
    expect(before.status).toBe(200);
    expect(before.html).toContain(`action="${revokePath(token.jti)}"`);

    const res = await post(t, revokePath(token.jti), admin.cookie, { csrf: admin.csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin');
    expect((await introspect(t.broker, token.token)).active).toBe(false);
    expect((await introspect(t.broker, other.token)).active).toBe(true);

    const [row] = await t.broker.store.queryAudit({ event: 'token.revoked' });
    expect(row).toMatchObject({
      subject: ALICE_SUBJECT,
      jti: token.jti,
      source: 'admin',
      detail: { actor: 'user:root@example.com' },
    });
    const after = await adminPage(t, admin.cookie);
    expect(after.html).not.toContain(revokePath(token.jti));
    expect(after.html).toContain(revokePath(other.jti));
  });

  it('answers a revoke of an unknown token with a 404 page that leads back to /admin', async () => {
    t = await startAdminBroker();
    const admin = await loginAdmin(t);
    const res = await post(t, revokePath('no-such-jti'), admin.cookie, { csrf: admin.csrf });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain('there is no such token');
    expect(html).toContain('href="/admin"');
  });

  it("ends every session of a subject: the person's next request asks to log in, and it is audited", async () => {
    t = await startAdminBroker();
    const admin = await loginAdmin(t);
    const phone = await loginAlice(t);
    const laptop = await loginAlice(t);

    const before = await adminPage(t, admin.cookie);
    expect(before.html).toContain(
      '<input type="hidden" name="subject" value="user:alice@example.com"',
    );
    // Who and when, never the id's hash or the session's CSRF token.
    expect(before.html).not.toContain(phone.csrf);
    expect(before.html).not.toContain(laptop.csrf);
    const [session] = await t.broker.sql('SELECT id_sha256 FROM sessions');
    expect(before.html).not.toContain(session!.id_sha256 as string);

    const res = await post(t, '/admin/subjects/end-sessions', admin.cookie, {
      csrf: admin.csrf,
      subject: ALICE_SUBJECT,
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin');
    for (const { cookie } of [phone, laptop]) {
      const next = await get(t, '/', cookie);
      expect(next.status).toBe(302);
      expect(next.headers.get('location')).toMatch(/^\/saml\/login/);
    }
    expect((await get(t, '/admin', admin.cookie)).status).toBe(200);
    const [row] = await t.broker.store.queryAudit({ event: 'session.ended' });
    expect(row).toMatchObject({
      subject: ALICE_SUBJECT,
      source: 'admin',
      detail: { actor: 'user:root@example.com', sessions: 2 },
    });
  });

  it('refuses to end the sessions of no subject, with a page that says what to do', async () => {
    t = await startAdminBroker();
    const admin = await loginAdmin(t);
    for (const subject of [undefined, '', 'x'.repeat(2000)]) {
      const res = await post(t, '/admin/subjects/end-sessions', admin.cookie, {
        csrf: admin.csrf,
        ...(subject === undefined ? {} : { subject }),
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('reload the admin page and use its buttons');
    }
    expect(await t.broker.store.queryAudit({ event: 'session.ended' })).toEqual([]);
  });
});
