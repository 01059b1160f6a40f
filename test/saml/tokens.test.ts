import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { introspect, issued } from '../helpers/broker.js';
import { csrfOf, get, post, startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

let t: SamlTestBroker;
afterEach(() => t?.cleanup());

const tokenIn = (html: string) => /id="new-token" readonly="" value="([^"]+)"/.exec(html)?.[1];

async function loggedIn() {
  t = await startSamlBroker();
  const cookie = await t.login();
  return { cookie, csrf: await csrfOf(t, cookie) };
}

describe("the person's page: minting and revoking", () => {
  it("mints a token for the person's roles, shows it once, with a copy button and an export line", async () => {
    const { cookie, csrf } = await loggedIn();
    const res = await post(t, '/tokens', cookie, {
      csrf,
      scope: 'write:models/acme/bert',
      ttl: '10m',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    const token = tokenIn(html)!;
    expect(html).toContain(`value="export HF_TOKEN=${token}"`);
    expect(html).toContain('data-copy="new-token"');

    const jwks = await (await t.broker.app.request('/jwks')).json();
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: 'https://broker.test',
      audience: 'https://hub.test',
      currentDate: new Date(t.clock.now()),
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      sub: 'user:alice@example.com',
      scope: 'write:models/acme/bert',
      client_id: 'web',
    });
    expect(payload.exp! - payload.iat!).toBe(600);
    const row = await t.broker.store.getToken(payload.jti!);
    expect(row?.source).toBe('web');

    // Shown once: the page lists it, but never again in full.
    const again = await (await get(t, '/', cookie)).text();
    expect(again).not.toContain(token);
    expect(again).toContain('write:models/acme/bert');
  });

  it('caps the lifetime at the role max_ttl and grants everything when no scope is asked', async () => {
    const { cookie, csrf } = await loggedIn();
    const html = await (await post(t, '/tokens', cookie, { csrf, scope: '', ttl: '8h' })).text();
    const token = tokenIn(html)!;
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(30 * 60);
    expect(payload.scope).toBe('read:** write:models/acme/*');
  });

  it('refuses a scope the roles do not grant, says so on the page, and audits it', async () => {
    const { cookie, csrf } = await loggedIn();
    const res = await post(t, '/tokens', cookie, { csrf, scope: 'write:datasets/acme/x', ttl: '' });
    expect(res.status).toBe(400);
    const html = await res.text();
    // Worded for the person: what to do is ask for less, or ask an administrator.
    expect(html).toContain(
      'your roles do not let you request write:datasets/acme/x: ask only for the scopes listed under &quot;You may request&quot;, or ask your administrator for a role that grants it',
    );
    expect(html).not.toContain('trust policy');
    expect(tokenIn(html)).toBeUndefined();
    const [row] = await t.broker.store.queryAudit({ event: 'token.denied' });
    expect(row).toMatchObject({
      subject: 'user:alice@example.com',
      source: 'web',
      outcome: 'denied',
    });
  });

  it.each([
    ['without the CSRF field', {}],
    ['with a wrong CSRF field', { csrf: 'forged' }],
  ])('refuses the mint form %s', async (_name, extra) => {
    const { cookie } = await loggedIn();
    const res = await post(t, '/tokens', cookie, { scope: 'read:**', ...extra });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('reload the page');
    expect(await t.broker.store.listTokens({})).toHaveLength(0);
  });

  it('mints under the per-subject rate limit, like every other grant', async () => {
    t = await startSamlBroker({
      config: { rate_limit: { per_client: '100/1m', per_subject: '2/1m' } },
    });
    const cookie = await t.login();
    const csrf = await csrfOf(t, cookie);
    const mint = () => post(t, '/tokens', cookie, { csrf, scope: 'read:models/acme/x', ttl: '' });
    expect((await mint()).status).toBe(200);
    expect((await mint()).status).toBe(200);
    const refused = await mint();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const html = await refused.text();
    expect(html).toContain('too many requests from subject user:alice@example.com');
    expect(tokenIn(html)).toBeUndefined();
  });

  it('refuses the mint form without a session', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request('/tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'scope=read%3A**&csrf=x',
    });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('you are not logged in');
  });

  it('revokes a token from its button: inactive in /introspect at once, audited', async () => {
    const { cookie, csrf } = await loggedIn();
    const token = tokenIn(
      await (await post(t, '/tokens', cookie, { csrf, scope: 'read:**' })).text(),
    )!;
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti;
    expect((await introspect(t.broker, token)).active).toBe(true);
    const res = await post(t, `/tokens/${jti}/revoke`, cookie, { csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect((await introspect(t.broker, token)).active).toBe(false);
    const [row] = await t.broker.store.queryAudit({ event: 'token.revoked' });
    expect(row).toMatchObject({ jti, source: 'web', subject: 'user:alice@example.com' });
    expect(await (await get(t, '/', cookie)).text()).toContain('No active token');
  });

  it.each([
    ['without the CSRF field', {}],
    ['with a wrong CSRF field', { csrf: 'forged' }],
  ])('refuses the revoke button %s and keeps the token', async (_name, extra) => {
    const { cookie, csrf } = await loggedIn();
    const token = tokenIn(
      await (await post(t, '/tokens', cookie, { csrf, scope: 'read:**' })).text(),
    )!;
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti;
    const res = await post(t, `/tokens/${jti}/revoke`, cookie, extra);
    expect(res.status).toBe(403);
    expect((await introspect(t.broker, token)).active).toBe(true);
  });

  it("refuses to revoke someone else's token", async () => {
    const { cookie, csrf } = await loggedIn();
    const other = await issued(
      t.broker.minter.mint({
        subject: 'user:bob@example.com',
        scopes: ['read:**'],
        ttlSeconds: 600,
        clientId: 'web',
        source: 'web',
        audit: {},
      }),
    );
    const res = await post(t, `/tokens/${other.jti}/revoke`, cookie, { csrf });
    expect(res.status).toBe(404);
    expect((await introspect(t.broker, other.token)).active).toBe(true);
  });

  it('serves the page with a CSP that allows no inline script, and the script as a file', async () => {
    const { cookie } = await loggedIn();
    const res = await get(t, '/', cookie);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]+<\/script>|<style|style=|onclick=/);
    const js = await t.broker.app.request('/static/tokenbroker.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });
});
