import { describe, expect, it } from 'vitest';
import { DEVICE_GRANT, authorize, poll } from '../helpers/device.js';
import { ACS_URL, SP_ENTITY_ID, loginCookie, sessionCookie } from '../helpers/saml-broker.js';
import { readAuthnRequest } from '../helpers/saml-idp.js';
import { form } from '../helpers/broker.js';
import { useBroker, type ContractBroker } from './broker.js';
import { TARGETS } from './targets.js';

// A person's side over HTTP: SAML login through the test IdP (a signed
// Response posted to the ACS with the login-binding cookie), the person's
// page, and the device flow (RFC 8628) a terminal starts and a person
// approves. Each device code is polled once: a second poll inside the
// interval would be slow_down, and no test here moves a clock.

const csrfIn = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
const tokenIn = (html: string) => /id="new-token" readonly="" value="([^"]+)"/.exec(html)![1]!;

async function csrfOf(b: ContractBroker, cookie: string, path = '/') {
  return csrfIn(await (await b.page(path, cookie)).text());
}

describe.each(TARGETS)('a person on $name', (target) => {
  const broker = useBroker(target);

  describe('SAML login', () => {
    it('sends a person to the IdP, logs them in through the ACS, and back to return_to', async () => {
      const b = broker();
      const started = await b.send('/saml/login?return_to=%2F%3Ffrom%3Dcli');
      expect(started.status).toBe(302);
      const location = new URL(started.headers.get('location')!);
      expect(location.origin + location.pathname).toBe(b.idp.ssoUrl);
      const request = readAuthnRequest(location.href);
      expect(request.acsUrl).toBe(ACS_URL);
      expect(request.relayState).toBe('/?from=cli');

      const init = form({
        SAMLResponse: b.idp.response({
          acsUrl: ACS_URL,
          audience: SP_ENTITY_ID,
          inResponseTo: request.id,
        }),
        RelayState: request.relayState!,
      });
      const acs = await b.send('/saml/acs', {
        ...init,
        headers: { ...(init.headers as Record<string, string>), Cookie: loginCookie(started)! },
      });
      expect(acs.status).toBe(303);
      expect(acs.headers.get('location')).toBe('/?from=cli');
      const cookie = acs.headers.getSetCookie().find((c) => c.startsWith('__Host-tb_session='))!;
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/Secure/);
      expect(cookie).toMatch(/SameSite=Lax/);

      const page = await b.page('/', sessionCookie(acs)!);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('alice@example.com');
      expect(html).toContain('ml-engineers');
      expect(html).toContain('write:models/acme/*');
    });

    it('refuses a replayed SAML response, even with the login cookie kept from before', async () => {
      const b = broker();
      const started = await b.send('/saml/login?return_to=%2F');
      const binding = loginCookie(started)!;
      const { id } = readAuthnRequest(started.headers.get('location')!);
      const init = form({
        SAMLResponse: b.idp.response({ acsUrl: ACS_URL, audience: SP_ENTITY_ID, inResponseTo: id }),
      });
      const post = () =>
        b.send('/saml/acs', {
          ...init,
          headers: { ...(init.headers as Record<string, string>), Cookie: binding },
        });
      const first = await post();
      expect(first.status).toBe(303);
      // The ACS forgets the login in the browser's cookie...
      expect(loginCookie(first)).toBeDefined();
      expect(loginCookie(first)).not.toContain(id);
      // ...and a client that kept the old cookie still cannot replay it.
      const again = await post();
      expect(again.status).toBe(400);
      expect(await again.text()).toMatch(/already used to log in/);
      expect(sessionCookie(again)).toBeUndefined();
    });

    it('serves SP metadata an IdP can import', async () => {
      const res = await broker().send('/saml/metadata');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/samlmetadata\+xml/);
      const xml = await res.text();
      expect(xml).toContain(`entityID="${SP_ENTITY_ID}"`);
      expect(xml).toContain(`Location="${ACS_URL}"`);
    });

    it("mints a token on the person's page, shows it once, and revokes it there", async () => {
      const b = broker();
      const cookie = await b.login();
      const res = await b.submit('/tokens', cookie, {
        csrf: await csrfOf(b, cookie),
        scope: 'write:models/acme/bert',
        ttl: '10m',
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const token = tokenIn(await res.text());
      const claims = await b.verify(token);
      expect(claims).toMatchObject({
        sub: 'user:alice@example.com',
        scope: 'write:models/acme/bert',
        client_id: 'web',
      });
      expect(claims.exp! - claims.iat!).toBe(600);
      expect(await (await b.page('/', cookie)).text()).not.toContain(token);

      const revoked = await b.submit(`/tokens/${claims.jti}/revoke`, cookie, {
        csrf: await csrfOf(b, cookie),
      });
      expect(revoked.status).toBe(303);
      expect(await b.introspect(token)).toEqual({ active: false });
    });

    it('logs out: the session cookie no longer opens the page', async () => {
      const b = broker();
      const cookie = await b.login();
      const res = await b.submit('/saml/logout', cookie, { csrf: await csrfOf(b, cookie) });
      expect(res.status).toBe(303);
      expect((await b.page('/', cookie)).status).toBe(302);
    });
  });

  describe('the device flow', () => {
    it('gives a terminal the token of the person who approved its code', async () => {
      const b = broker();
      const started = await authorize(
        b.send,
        { scope: 'read:models/acme/bert' },
        {
          'User-Agent': 'tokenbroker-cli/0.1 (linux)',
        },
      );
      expect(started).toMatchObject({
        verification_uri: 'https://broker.test/device',
        expires_in: 600,
        interval: 5,
      });

      const cookie = await b.login();
      const complete = new URL(started.verification_uri_complete);
      const shown = await (await b.page(`${complete.pathname}${complete.search}`, cookie)).text();
      expect(shown).toContain(started.user_code);
      expect(shown).toContain('read:models/acme/bert');
      expect(shown).toContain('tokenbroker-cli/0.1 (linux)');
      const approved = await b.submit('/device/approve', cookie, {
        csrf: csrfIn(shown),
        user_code: started.user_code,
      });
      expect(approved.status).toBe(303);

      const got = await poll(b.send, started.device_code);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({
        token_type: 'Bearer',
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        expires_in: 900,
        scope: 'read:models/acme/bert',
      });
      const claims = await b.verify(got.body.access_token as string);
      expect(claims).toMatchObject({
        sub: 'user:alice@example.com',
        scope: 'read:models/acme/bert',
        client_id: 'device',
      });
      expect((await b.introspect(got.body.access_token as string)).active).toBe(true);
    });

    it('answers authorization_pending while nobody has decided', async () => {
      const b = broker();
      const { device_code } = await authorize(b.send);
      expect(await poll(b.send, device_code)).toMatchObject({
        status: 400,
        body: { error: 'authorization_pending' },
      });
    });

    it('tells a device that its request was denied (access_denied)', async () => {
      const b = broker();
      const { device_code, user_code } = await authorize(b.send);
      const cookie = await b.login();
      const page = `/device?user_code=${user_code}`;
      const denied = await b.submit('/device/deny', cookie, {
        csrf: await csrfOf(b, cookie, page),
        user_code,
      });
      expect(denied.status).toBe(303);
      expect(await poll(b.send, device_code)).toEqual({
        status: 400,
        body: {
          error: 'access_denied',
          error_description:
            'the request was denied on the approval page: start again (tokenbroker login) if that was a mistake',
        },
      });
    });

    it('refuses a device code it never issued', async () => {
      const res = await broker().send(
        '/token',
        form({ grant_type: DEVICE_GRANT, device_code: 'x'.repeat(43) }),
      );
      expect(res.status).toBe(400);
      expect((await res.json()).error).toBe('invalid_grant');
    });
  });
});
