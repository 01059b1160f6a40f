import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inflateRawSync } from 'node:zlib';
import { ManualClock } from '../../src/shared/clock.js';
import {
  IDP_ENTITY_ID,
  IDP_SSO_URL,
  TestIdp,
  TestIdpLogout,
  b64,
  type LogoutRequestOptions,
} from '../helpers/saml-idp.js';
import { form } from '../helpers/broker.js';
import { ISSUER, get, startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';
import { selfSignedCert } from '../helpers/x509.js';

/**
 * IdP-initiated single logout: the IdP signs a LogoutRequest for a NameID;
 * the broker ends that person's sessions and answers with a LogoutResponse.
 */
const SLO_URL = `${ISSUER}/saml/slo`;
const IDP_SLO = 'https://idp.test/slo';

let t: SamlTestBroker;
let logout: TestIdpLogout;
beforeEach(async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
  const idp = new TestIdp(() => clock.now(), IDP_ENTITY_ID, IDP_SSO_URL, IDP_SLO);
  t = await startSamlBroker({
    clock,
    idp,
    saml: {
      idp: {
        entity_id: IDP_ENTITY_ID,
        entry_point: IDP_SSO_URL,
        certs: [idp.keys.certPem],
        slo_url: IDP_SLO,
      },
    },
  });
  logout = new TestIdpLogout(idp, () => clock.now());
});
afterEach(() => t.cleanup());

const opts = (o: Partial<LogoutRequestOptions> = {}): LogoutRequestOptions => ({
  destination: SLO_URL,
  ...o,
});

function redirectSlo(query: string, cookie?: string): Promise<Response> {
  return Promise.resolve(
    t.broker.app.request(`/saml/slo?${query}`, cookie ? { headers: { Cookie: cookie } } : {}),
  );
}

function postSlo(xml: string): Promise<Response> {
  return Promise.resolve(t.broker.app.request('/saml/slo', form({ SAMLRequest: b64(xml) })));
}

function logoutResponse(res: Response): { xml: string; relayState: string | null } {
  const url = new URL(res.headers.get('location')!);
  expect(url.origin + url.pathname).toBe(IDP_SLO);
  const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLResponse')!, 'base64'));
  return { xml: xml.toString(), relayState: url.searchParams.get('RelayState') };
}

describe('SAML single logout from the IdP', () => {
  it('ends every session of the NameID (HTTP-Redirect) and answers with a LogoutResponse', async () => {
    const laptop = await t.login();
    const phone = await t.login();
    const bob = await t.login({
      nameId: 'bob@example.com',
      attributes: { email: ['bob@example.com'], groups: ['ml-engineers'] },
    });
    expect(await t.sessionCount()).toBe(3);
    const res = await redirectSlo(logout.redirectQuery(opts({ id: '_logout-1' }), 'rs-1'), laptop);
    expect(res.status).toBe(302);
    const answer = logoutResponse(res);
    expect(answer.xml).toContain('InResponseTo="_logout-1"');
    expect(answer.xml).toContain('urn:oasis:names:tc:SAML:2.0:status:Success');
    expect(answer.relayState).toBe('rs-1');
    expect((await get(t, '/', laptop)).status).toBe(302);
    expect((await get(t, '/', phone)).status).toBe(302);
    expect((await get(t, '/', bob)).status).toBe(200);
    const [row] = await t.broker.store.queryAudit({ event: 'logout.idp' });
    expect(row).toMatchObject({ outcome: 'success', subject: 'user:alice@example.com' });
    expect(row!.detail).toMatchObject({ sessions: 2 });
  });

  it("counts this browser's session once when the NameID differs from the session's only in case", async () => {
    const laptop = await t.login({ nameId: 'Alice@Example.com' });
    const res = await redirectSlo(
      logout.redirectQuery(opts({ nameId: 'alice@example.com' })),
      laptop,
    );
    expect(res.status).toBe(302);
    expect(await t.sessionCount()).toBe(0);
    const [row] = await t.broker.store.queryAudit({ event: 'logout.idp' });
    expect(row!.detail).toMatchObject({ sessions: 1 });
  });

  it('ends the sessions for a signed HTTP-POST LogoutRequest too (no session cookie needed)', async () => {
    const alice = await t.login();
    const res = await postSlo(logout.postXml(opts()));
    expect(res.status).toBe(303);
    expect(logoutResponse(res).xml).toContain('status:Success');
    expect((await get(t, '/', alice)).status).toBe(302);
    expect(await t.sessionCount()).toBe(0);
  });

  it('answers UnknownPrincipal, and ends nothing, for an opaque NameID it cannot find', async () => {
    await t.login();
    const res = await postSlo(logout.postXml(opts({ nameId: 'opaque-0042' })));
    expect(res.status).toBe(303);
    expect(logoutResponse(res).xml).toContain('status:UnknownPrincipal');
    expect(await t.sessionCount()).toBe(1);
  });

  const attacks: Array<{
    name: string;
    send: () => Promise<Response>;
    message: RegExp;
    /** The check the audit row names, where the test pins which check refused it. */
    check?: string;
  }> = [
    {
      name: 'an unsigned HTTP-Redirect request',
      send: () =>
        redirectSlo(
          logout
            .redirectQuery(opts())
            .replace(/&SigAlg=[^&]*/, '')
            .replace(/&Signature=[^&]*/, ''),
        ),
      message: /not signed/,
    },
    {
      name: 'a redirect request signed by another key',
      send: () => redirectSlo(logout.redirectQuery(opts({ key: selfSignedCert('forger') }))),
      message:
        /this logout request is not signed by the IdP's certificate: .*ask the IdP admin to sign logout requests/,
    },
    {
      name: 'a redirect request whose NameID was changed after signing',
      send: () => {
        const good = new URLSearchParams(logout.redirectQuery(opts({ nameId: 'bob@example.com' })));
        const evil = new URLSearchParams(logout.redirectQuery(opts()));
        good.set('SAMLRequest', evil.get('SAMLRequest')!);
        return redirectSlo(good.toString());
      },
      message: /not signed by the IdP/,
    },
    {
      name: 'an unsigned HTTP-POST request',
      send: () => postSlo(logout.xml(opts())),
      message: /not signed/,
    },
    {
      name: 'a POST request signed by another key',
      send: () => postSlo(logout.postXml(opts({ key: selfSignedCert('forger') }))),
      message: /not signed by the IdP/,
    },
    {
      name: 'a signed POST request for bob with a NameID for alice smuggled into the signature',
      send: () =>
        postSlo(
          logout
            .postXml(opts({ nameId: 'bob@example.com' }))
            .replace(
              '</SignatureValue>',
              '</SignatureValue><Object><saml:NameID>alice@example.com</saml:NameID></Object>',
            ),
        ),
      message: /exactly one plain NameID/,
    },
    {
      name: 'a request from another issuer (signed with the IdP key)',
      send: () => redirectSlo(logout.redirectQuery(opts({ issuer: 'https://evil-idp.test' }))),
      message: /not from the configured IdP/,
    },
    {
      name: 'a request addressed to another SP',
      send: () => postSlo(logout.postXml(opts({ destination: 'https://other-sp.test/slo' }))),
      message: /not to this broker/,
    },
    {
      name: 'a stale request (issued 20 minutes ago)',
      send: () =>
        redirectSlo(logout.redirectQuery(opts({ issueInstant: t.clock.now() - 20 * 60_000 }))),
      message:
        /this logout request was issued 20m ago, more than the age a logout request may have \(10m\): log out again at the IdP/,
      check: 'LogoutRequest/@IssueInstant',
    },
    {
      name: 'a redirect request signed with SHA-1 (SigAlg rsa-sha1)',
      send: () => redirectSlo(logout.redirectQuery(opts({ sha1: true }))),
      message: /not signed with SHA-256 or better: ask the IdP admin to sign with SHA-256/,
      check: 'algorithm',
    },
    {
      name: 'a signed POST request behind a DOCTYPE with an internal entity',
      send: () =>
        postSlo(`<!DOCTYPE r [<!ENTITY who "alice@example.com">]>${logout.postXml(opts())}`),
      message: /the logout request contains a DOCTYPE.*log out again at the IdP/,
      check: 'doctype',
    },
    {
      name: 'a redirect request past its NotOnOrAfter',
      send: () =>
        redirectSlo(
          logout.redirectQuery(
            opts({
              issueInstant: t.clock.now() - 6 * 60_000,
              notOnOrAfter: t.clock.now() - 5 * 60_000,
            }),
          ),
        ),
      message:
        /this logout request expired 5m before this server's clock: log out again at the IdP; if it keeps happening/,
      check: 'LogoutRequest/@NotOnOrAfter',
    },
    {
      name: 'a POST request with two Signatures',
      send: () =>
        postSlo(
          logout.postXml(opts()).replace(/<Signature[\s\S]*<\/Signature>/, (sig) => sig + sig),
        ),
      message: /the logout request carries 2 signatures/,
      check: 'signature',
    },
  ];

  it.each(attacks)('refuses $name and keeps the sessions', async ({ send, message, check }) => {
    const alice = await t.login();
    const res = await send();
    expect(res.status).toBe(400);
    const html = (await res.text()).replace(/&#39;/g, "'");
    expect(html).toMatch(message);
    expect(html).not.toMatch(/log in again|login refused|SAML assertion/i);
    expect(html).toContain('Logout request refused');
    expect((await get(t, '/', alice)).status).toBe(200);
    expect(await t.sessionCount()).toBe(1);
    const [row] = await t.broker.store.queryAudit({ event: 'logout.failed' });
    expect(row).toMatchObject({ outcome: 'denied' });
    if (check) expect(row!.detail).toMatchObject({ check, logout: true });
  });

  it('handles a LogoutRequest once: a replay is refused', async () => {
    await t.login();
    const query = logout.redirectQuery(opts({ id: '_once' }));
    expect((await redirectSlo(query)).status).toBe(302);
    const again = await redirectSlo(query);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain(
      'this logout request was already handled, so the sessions it names have ended',
    );
  });

  it('says honestly whether this browser is still logged in when no LogoutRequest comes', async () => {
    const alice = await t.login();
    const still = await get(t, '/saml/slo', alice);
    expect(await still.text()).toContain('You are still logged in');
    expect(await t.sessionCount()).toBe(1);
    const none = await t.broker.app.request('/saml/slo');
    expect(await none.text()).toContain('You are logged out');
  });

  it('publishes the SingleLogoutService it implements in the SP metadata', async () => {
    const xml = await (await t.broker.app.request('/saml/metadata')).text();
    expect(xml).toContain(
      `SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${SLO_URL}"`,
    );
  });
});
