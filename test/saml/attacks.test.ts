import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, signElement, unb64 } from '../helpers/saml-idp.js';
import { selfSignedCert } from '../helpers/x509.js';
import {
  ACS_URL,
  SP_ENTITY_ID,
  sessionCookie,
  startSamlBroker,
  type SamlTestBroker,
} from '../helpers/saml-broker.js';

/**
 * Every attack gets its own login request (a fresh InResponseTo), so the
 * response fails for the attack's reason and for no other.
 */
let t: SamlTestBroker;
beforeAll(async () => {
  t = await startSamlBroker();
});
afterAll(() => t.cleanup());

const forger = selfSignedCert('forger');
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';

/** An unsigned assertion for mallory, to smuggle next to a signed one. */
const evilAssertion = (id = '_evil') =>
  `<saml:Assertion xmlns:saml="${SAML_NS}" ID="${id}" Version="2.0" IssueInstant="2026-01-15T12:00:00Z"><saml:Issuer>https://idp.test/metadata</saml:Issuer><saml:Subject><saml:NameID>mallory@example.com</saml:NameID></saml:Subject></saml:Assertion>`;

const signedAssertionOf = (xml: string) => /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];

interface Attack {
  name: string;
  /** Builds the posted SAMLResponse from a fresh request id. */
  build: (inResponseTo: string) => string;
  message: RegExp;
  /** The check the audit row names, where the test pins which check refused it. */
  check?: string;
}

const signedXml = (irt: string, o: Parameters<SamlTestBroker['response']>[0] = {}) =>
  unb64(t.response({ inResponseTo: irt, ...o }));

/** A response altered before the IdP signs its assertion: the signature holds, our checks must refuse. */
const signedAfter = (irt: string, alter: (xml: string) => string) =>
  b64(
    t.idp.sign(
      alter(t.idp.responseXml({ acsUrl: ACS_URL, audience: SP_ENTITY_ID, inResponseTo: irt })),
    ),
  );

const attacks: Attack[] = [
  {
    name: 'an unsigned assertion',
    build: (irt) => t.response({ inResponseTo: irt, signAssertion: false }),
    message: /not signed by the IdP's certificate/,
  },
  {
    name: 'an assertion signed by another key',
    build: (irt) => t.response({ inResponseTo: irt, key: forger }),
    message: /not signed by the IdP's certificate/,
  },
  {
    name: 'a signed response wrapping an unsigned assertion',
    build: (irt) => t.response({ inResponseTo: irt, signAssertion: false, signResponse: true }),
    message: /not signed by the IdP's certificate/,
  },
  {
    name: 'XSW: an evil assertion before the signed one',
    build: (irt) => {
      const xml = signedXml(irt);
      return b64(xml.replace('<saml:Assertion', `${evilAssertion()}<saml:Assertion`));
    },
    message: /exactly one Assertion/,
  },
  {
    name: 'XSW: an evil assertion after the signed one',
    build: (irt) =>
      b64(signedXml(irt).replace('</samlp:Response>', `${evilAssertion()}</samlp:Response>`)),
    message: /exactly one Assertion/,
  },
  {
    name: 'XSW: an evil assertion inside the signed one (Advice)',
    build: (irt) =>
      b64(
        signedXml(irt).replace(
          '<saml:AttributeStatement>',
          `<saml:Advice>${evilAssertion()}</saml:Advice><saml:AttributeStatement>`,
        ),
      ),
    message: /exactly one Assertion/,
  },
  {
    name: 'XSW: the signature moved to an evil assertion, the signed one hidden in its ds:Object',
    build: (irt) => {
      const xml = signedXml(irt);
      const signed = signedAssertionOf(xml);
      const id = /ID="([^"]+)"/.exec(signed)![1]!;
      const signature = /<Signature[\s\S]*<\/Signature>/.exec(signed)![0];
      const evil = evilAssertion(id).replace(
        '</saml:Issuer>',
        `</saml:Issuer>${signature.replace('</Signature>', `<Object>${signed.replace(signature, '')}</Object></Signature>`)}`,
      );
      return b64(xml.replace(signed, evil));
    },
    message: /exactly one Assertion/,
  },
  {
    name: 'XSW: the signed assertion moved into samlp:Extensions, an evil one in its place',
    build: (irt) => {
      const xml = signedXml(irt);
      const signed = signedAssertionOf(xml);
      return b64(
        xml
          .replace(signed, evilAssertion())
          .replace(
            '<samlp:Status>',
            `<samlp:Extensions>${signed}</samlp:Extensions><samlp:Status>`,
          ),
      );
    },
    message: /exactly one Assertion/,
  },
  {
    name: 'two validly signed assertions',
    build: (irt) => {
      const second = signedAssertionOf(
        signedXml(irt, { assertionId: '_second', nameId: 'mallory@example.com' }),
      );
      return b64(signedXml(irt).replace('</samlp:Response>', `${second}</samlp:Response>`));
    },
    message: /exactly one Assertion/,
  },
  {
    name: 'a comment injected into the NameID',
    build: (irt) =>
      b64(
        signedXml(irt, {
          nameId: 'alice@example.com.evil.com',
          attributes: { groups: ['ml-engineers'] },
        }).replace(
          'alice@example.com.evil.com</saml:NameID>',
          'alice@example.com<!---->.evil.com</saml:NameID>',
        ),
      ),
    message: /XML comment/,
  },
  {
    name: 'a DOCTYPE with an internal entity',
    build: (irt) => b64(`<!DOCTYPE r [<!ENTITY who "alice@example.com">]>${signedXml(irt)}`),
    message: /DOCTYPE/,
  },
  {
    name: 'an external DTD',
    build: (irt) =>
      b64(`<!DOCTYPE samlp:Response SYSTEM "http://evil.test/x.dtd">${signedXml(irt)}`),
    message: /DOCTYPE/,
  },
  {
    name: 'a failed top-level status around a signed assertion',
    build: (irt) =>
      t.response({ inResponseTo: irt, statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }),
    message: /did not log you in \(status Responder\)/,
  },
  {
    name: 'a wrong Audience',
    build: (irt) => t.response({ inResponseTo: irt, audience: 'https://other-sp.test' }),
    message: new RegExp(`meant for another application.*${SP_ENTITY_ID}`),
  },
  {
    name: 'a wrong Destination',
    build: (irt) => t.response({ inResponseTo: irt, destination: 'https://other-sp.test/acs' }),
    message: new RegExp(`addressed to "https://other-sp.test/acs".*${ACS_URL}`),
  },
  {
    name: 'a wrong Recipient',
    build: (irt) => t.response({ inResponseTo: irt, recipient: 'https://other-sp.test/acs' }),
    message: /assertion is addressed to https:\/\/other-sp.test\/acs/,
  },
  {
    name: 'a wrong Issuer',
    build: (irt) => t.response({ inResponseTo: irt, issuer: 'https://evil-idp.test' }),
    message: /comes from "https:\/\/evil-idp.test", not from the configured IdP/,
  },
  {
    name: 'a wrong Issuer on the assertion only',
    build: (irt) => {
      const xml = t.idp.responseXml({ acsUrl: ACS_URL, audience: SP_ENTITY_ID, inResponseTo: irt });
      const altered = xml.replace(
        /(<saml:Assertion[^>]*><saml:Issuer>)[^<]*/,
        '$1https://evil-idp.test',
      );
      return b64(signElement(altered, t.idp.keys, "//*[local-name(.)='Assertion']"));
    },
    message: /the assertion comes from "https:\/\/evil-idp.test", not from the configured IdP/,
    check: 'issuer',
  },
  {
    name: 'an unsolicited response (no InResponseTo)',
    build: () => t.response({}),
    message: /IdP-initiated logins are off/,
  },
  {
    name: 'a response to a request this broker never sent',
    build: () => t.response({ inResponseTo: '_never-sent' }),
    message: /answers a login that was not started in this browser/,
  },
  {
    name: 'a response signed with SHA-1',
    build: (irt) => {
      const xml = signedXml(irt).replace('xmldsig-more#rsa-sha256', 'xmldsig#rsa-sha1');
      return b64(xml);
    },
    message: /SHA-1/,
  },
  {
    name: 'a signed SubjectConfirmation whose Method is not bearer',
    build: (irt) =>
      signedAfter(irt, (xml) =>
        xml.replace(
          'urn:oasis:names:tc:SAML:2.0:cm:bearer',
          'urn:oasis:names:tc:SAML:2.0:cm:sender-vouches',
        ),
      ),
    message:
      /no bearer SubjectConfirmationData: ask the IdP admin to use bearer subject confirmation/,
    check: 'subject_confirmation',
  },
  {
    // node-saml refuses two Conditions before our own check does; either
    // way the page must not show node-saml's words.
    name: 'a signed assertion with two Conditions',
    build: (irt) =>
      signedAfter(irt, (xml) =>
        xml.replace(/<saml:Conditions[\s\S]*?<\/saml:Conditions>/, (c) => c + c),
      ),
    message:
      /the SAML response was refused by the SAML checks: start the login again from \/saml\/login.*login\.failed/,
    check: 'node-saml',
  },
  {
    name: 'a signed assertion with a second NameID',
    build: (irt) =>
      signedAfter(irt, (xml) =>
        xml.replace(
          /<saml:NameID[^>]*>[^<]*<\/saml:NameID>/,
          (n) => `${n}<saml:NameID>mallory@example.com</saml:NameID>`,
        ),
      ),
    message: /exactly one plain-text NameID: ask the IdP admin/,
    check: 'name_id',
  },
  {
    name: 'a processing instruction in the response',
    build: (irt) =>
      b64(signedXml(irt).replace('<samlp:Status>', '<?evil alice@example.com?><samlp:Status>')),
    message: /contains a processing instruction.*start the login again from \/saml\/login/,
    check: 'processing_instruction',
  },
  {
    name: 'an EncryptedAssertion next to the signed one',
    build: (irt) =>
      b64(
        signedXml(irt).replace(
          '</samlp:Response>',
          `<saml:EncryptedAssertion xmlns:saml="${SAML_NS}"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion></samlp:Response>`,
        ),
      ),
    message: /encrypted assertion.*ask the IdP admin to turn off assertion encryption/,
    check: 'encrypted_assertion',
  },
  {
    name: 'the only (signed) assertion nested in samlp:Extensions',
    build: (irt) => {
      const xml = signedXml(irt);
      const signed = signedAssertionOf(xml);
      return b64(
        xml
          .replace(signed, '')
          .replace(
            '<samlp:Status>',
            `<samlp:Extensions>${signed}</samlp:Extensions><samlp:Status>`,
          ),
      );
    },
    message: /exactly one Assertion, directly in the Response; it holds 1 elsewhere/,
    check: 'assertion_count',
  },
];

// The replay of a used response is in test/contract/browser.test.ts, run
// against Node and Workers alike.
describe('SAML ACS refuses attacks', () => {
  it.each(attacks)(
    'refuses $name, starts no session, audits it',
    async ({ build, message, check }) => {
      const { id } = await t.startLogin();
      const before = await t.sessionCount();
      const rowsBefore = (await t.broker.store.queryAudit({ event: 'login.failed' })).length;
      const res = await t.postAcs(build(id));
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      const html = await res.text();
      expect(html.replace(/&#39;/g, "'").replace(/&quot;/g, '"')).toMatch(message);
      expect(sessionCookie(res)).toBeUndefined();
      expect(await t.sessionCount()).toBe(before);
      // This attack's own row: exactly one more, with the check that refused it.
      const rows = (await t.broker.store.queryAudit({ event: 'login.failed' })).slice(rowsBefore);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ outcome: 'denied', source: 'web' });
      if (check) expect(rows[0]!.detail).toMatchObject({ check });
    },
  );

  it('refuses a signed assertion answering login A inside a Response that says B (SubjectConfirmationData InResponseTo)', async () => {
    // The Response is not signed: InResponseTo on it can be rewritten to a
    // login this browser has under way; the signed one on the assertion cannot.
    const a = await t.startLogin();
    const b = await t.startLogin();
    const xml = signedXml(a.id);
    const altered = xml.replace(`InResponseTo="${a.id}"`, `InResponseTo="${b.id}"`);
    expect(altered.match(/InResponseTo="([^"]+)"/g)).toEqual([
      `InResponseTo="${b.id}"`,
      `InResponseTo="${a.id}"`,
    ]);
    const before = await t.sessionCount();
    const res = await t.postAcs(b64(altered));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(
      'the assertion answers another login request than its response: start the login again from /saml/login',
    );
    expect(sessionCookie(res)).toBeUndefined();
    expect(await t.sessionCount()).toBe(before);
    const rows = await t.broker.store.queryAudit({ event: 'login.failed' });
    expect(rows.at(-1)!.detail).toMatchObject({ check: 'subject_in_response_to' });
  });

  it("keeps node-saml's own words out of the page (audit detail only)", async () => {
    const { id } = await t.startLogin();
    const res = await t.postAcs(
      signedAfter(id, (xml) =>
        xml.replace(/<saml:Conditions[\s\S]*?<\/saml:Conditions>/, (c) => c + c),
      ),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).not.toMatch(/multiple conditions/i);
    const rows = await t.broker.store.queryAudit({ event: 'login.failed' });
    expect(rows.at(-1)!.detail).toMatchObject({
      check: 'node-saml',
      nodeSaml: expect.stringMatching(/multiple conditions/i),
    });
  });

  it('answers each login request once, even with a second, fresh assertion (request id guard)', async () => {
    const { id } = await t.startLogin();
    const before = await t.sessionCount();
    expect((await t.postAcs(t.response({ inResponseTo: id }))).status).toBe(303);
    const second = await t.postAcs(t.response({ inResponseTo: id }));
    expect(second.status).toBe(400);
    expect(await second.text()).toContain('this login request was already answered');
    expect(await t.sessionCount()).toBe(before + 1);
  });

  it('refuses a replayed assertion even where unsolicited logins are allowed (assertion ID guard)', async () => {
    const open = await startSamlBroker({ saml: { allow_idp_initiated: true } });
    try {
      const response = open.response({});
      expect((await open.postAcs(response)).status).toBe(303);
      const again = await open.postAcs(response);
      expect(again.status).toBe(400);
      expect(await again.text()).toContain('already used to log in');
      expect(await open.sessionCount()).toBe(1);
    } finally {
      await open.cleanup();
    }
  });

  it('never keeps the SAMLResponse in the audit log', async () => {
    // A refusal of its own, so the check has rows to read even when this test runs alone.
    const { id } = await t.startLogin();
    const response = attacks.find((a) => a.name === 'a wrong Audience')!.build(id);
    expect((await t.postAcs(response)).status).toBe(400);
    const rows = await t.broker.store.queryAudit({ event: 'login.failed' });
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(response.slice(0, 40));
    expect(JSON.stringify(rows)).not.toMatch(/SignatureValue|PHNhbWxw/);
  });
});
