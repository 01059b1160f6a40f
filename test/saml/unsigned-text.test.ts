import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDP_ENTITY_ID, b64 } from '../helpers/saml-idp.js';
import { form } from '../helpers/broker.js';
import { startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

/**
 * A refusal of a SAML message quotes what the message says before any
 * signature is checked (Destination, Issuer). Any site can make a browser
 * post such a message to /saml/acs or /saml/slo, and the refusal is a page
 * on the broker's own origin: the quoted text must not become a message of
 * the attacker's there (no bidi reordering, no paragraph of their own).
 */
const P = 'urn:oasis:names:tc:SAML:2.0:protocol';
const A = 'urn:oasis:names:tc:SAML:2.0:assertion';
const PHISH = 'Your session expired. Sign in again at https://evil.test/login to keep your tokens.';
const INJECTED = `https://evil.test/\u202e ${PHISH} ${'z'.repeat(200)}`;

const response = (o: { destination?: string; issuer?: string }) =>
  `<samlp:Response xmlns:samlp="${P}" xmlns:saml="${A}" ID="_r" Version="2.0" ` +
  `IssueInstant="2026-01-15T12:00:00Z" Destination="${o.destination ?? 'https://broker.test/saml/acs'}">` +
  `${o.issuer ? `<saml:Issuer>${o.issuer}</saml:Issuer>` : ''}` +
  `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
  `<saml:Assertion ID="_a" Version="2.0" IssueInstant="2026-01-15T12:00:00Z"/></samlp:Response>`;

const logoutRequest = (o: { issuer?: string; destination?: string }) =>
  `<samlp:LogoutRequest xmlns:samlp="${P}" xmlns:saml="${A}" ID="_l" Version="2.0" ` +
  `IssueInstant="2026-01-15T12:00:00Z"${o.destination ? ` Destination="${o.destination}"` : ''}>` +
  `<saml:Issuer>${o.issuer ?? IDP_ENTITY_ID}</saml:Issuer>` +
  `<saml:NameID>alice@example.com</saml:NameID></samlp:LogoutRequest>`;

describe('a refused SAML message quotes its unsigned text short and escaped', () => {
  let t: SamlTestBroker;
  beforeAll(async () => {
    t = await startSamlBroker();
  });
  afterAll(() => t.cleanup());

  it.each([
    ['/saml/acs', 'Destination', { SAMLResponse: b64(response({ destination: INJECTED })) }],
    ['/saml/acs', 'Issuer', { SAMLResponse: b64(response({ issuer: INJECTED })) }],
    ['/saml/slo', 'Issuer', { SAMLRequest: b64(logoutRequest({ issuer: INJECTED })) }],
    ['/saml/slo', 'Destination', { SAMLRequest: b64(logoutRequest({ destination: INJECTED })) }],
  ])('%s with a crafted %s', async (path, _what, params) => {
    const res = await t.broker.app.request(path, {
      ...form(params),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('https://evil.test/'); // still says where it claimed to come from
    expect(page).not.toContain('\u202e');
    expect(page).not.toContain('to keep your tokens');
  });
});
