import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredAuditEvent } from '../../src/store/types.js';
import { b64 } from '../helpers/saml-idp.js';
import { form } from '../helpers/broker.js';
import { startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

/**
 * /saml/acs and /saml/slo read a few attributes of an unsigned message before
 * any signature is checked (Destination, Issuer, IssueInstant), and a refusal
 * names them. Anyone can post such a message, so its audit row must stay as
 * small as any other refusal of a request that proved nothing.
 */
const P = 'urn:oasis:names:tc:SAML:2.0:protocol';
const A = 'urn:oasis:names:tc:SAML:2.0:assertion';
const LONG = 'x'.repeat(30_000);
const bytes = (row: StoredAuditEvent) => new TextEncoder().encode(JSON.stringify(row)).length;

const response = (o: { destination?: string; issuer?: string }) =>
  `<samlp:Response xmlns:samlp="${P}" xmlns:saml="${A}" ID="_r" Version="2.0" ` +
  `IssueInstant="2026-01-15T12:00:00Z" Destination="${o.destination ?? 'https://broker.test/saml/acs'}">` +
  `${o.issuer ? `<saml:Issuer>${o.issuer}</saml:Issuer>` : ''}` +
  `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
  `<saml:Assertion ID="_a" Version="2.0" IssueInstant="2026-01-15T12:00:00Z"/></samlp:Response>`;

const logoutRequest = (o: { issuer?: string; issueInstant?: string }) =>
  `<samlp:LogoutRequest xmlns:samlp="${P}" xmlns:saml="${A}" ID="_l" Version="2.0" ` +
  `IssueInstant="${o.issueInstant ?? '2026-01-15T12:00:00Z'}">` +
  `<saml:Issuer>${o.issuer ?? 'https://idp.test'}</saml:Issuer>` +
  `<saml:NameID>alice@example.com</saml:NameID></samlp:LogoutRequest>`;

describe('a refused SAML message from anyone stores a bounded audit row', () => {
  let t: SamlTestBroker;
  beforeAll(async () => {
    t = await startSamlBroker();
  });
  afterAll(() => t.cleanup());

  async function lastRow(event: string): Promise<StoredAuditEvent> {
    return (await t.broker.store.queryAudit({ event })).at(-1)!;
  }

  it.each([
    ['a long Destination', response({ destination: `https://evil.test/${LONG}` })],
    ['a long Response Issuer', response({ issuer: `https://evil.test/${LONG}` })],
  ])('keeps a login response with %s under 1 KiB', async (_name, xml) => {
    const res = await t.broker.app.request('/saml/acs', form({ SAMLResponse: b64(xml) }));
    expect(res.status).toBe(400);
    const row = await lastRow('login.failed');
    expect(row.reason).toMatch(/^saml_invalid: /);
    expect(bytes(row)).toBeLessThanOrEqual(1024);
    expect(JSON.stringify(row)).toContain('truncated');
  });

  it.each([
    ['a long Issuer', logoutRequest({ issuer: `https://evil.test/${LONG}` })],
    ['a long IssueInstant', logoutRequest({ issueInstant: `2020-01-01T00:00:00Z${LONG}` })],
  ])('keeps a logout request with %s under 1 KiB', async (_name, xml) => {
    const res = await t.broker.app.request('/saml/slo', form({ SAMLRequest: b64(xml) }));
    expect(res.status).toBe(400);
    const row = await lastRow('logout.failed');
    expect(bytes(row)).toBeLessThanOrEqual(1024);
  });

  it('keeps a refusal that fits whole, its reason down to what to do', async () => {
    const issuer = `https://evil.test/${'y'.repeat(50)}`; // quoted whole under 80 characters
    const res = await t.broker.app.request(
      '/saml/acs',
      form({ SAMLResponse: b64(response({ issuer })) }),
    );
    expect(res.status).toBe(400);
    const row = await lastRow('login.failed');
    expect(row.reason!.length).toBeGreaterThan(256);
    expect(row.reason).toContain(issuer);
    expect(row.reason).toMatch(/update sso\.saml\.idp \(or refresh its metadata\)$/);
    expect(row.detail).toMatchObject({ check: 'response_issuer', issuer });
  });
});
