import { afterEach, describe, expect, it } from 'vitest';
import { csrfOf, post, startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';
import { b64, unb64 } from '../helpers/saml-idp.js';

/**
 * Faults the fuzzer found outside the review's list, each pinned by the
 * fuzzer's shrunk input so it cannot come back unnoticed.
 */
let t: SamlTestBroker;
afterEach(() => t?.cleanup());

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

describe('fuzz findings', () => {
  it.each([
    ['a NUL in the scope', { scope: 'read:models/acme/bert \u0000' }],
    ['a terminal escape in the scope', { scope: '\u0007\u001b[31m' }],
    ['a NUL in the ttl', { scope: 'read:models/acme/bert', ttl: '1\u0000h' }],
  ])(
    'the person page refusing a form with %s shows the value again without the raw control character',
    async (_, fields) => {
      t = await startSamlBroker();
      const cookie = await t.login();
      const res = await post(t, '/tokens', cookie, { csrf: await csrfOf(t, cookie), ...fields });
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).not.toMatch(CONTROL);
      expect(html).toContain('\ufffd'); // the value is still shown, each control character marked
    },
  );
});

describe('fuzz findings on error pages', () => {
  it('a 404 page for a path with an encoded NUL shows the path without the raw control character', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request('/.well-known/oauth-authorization-server%00%1b', {
      headers: { Accept: 'text/html' },
    });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).not.toMatch(CONTROL);
    expect(html).toContain('/.well-known/oauth-authorization-server\ufffd\ufffd');
  });

  it('a 404 page for a path with a right-to-left override shows it marked, not obeyed', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request('/gnp.exe%E2%80%AEx', {
      headers: { Accept: 'text/html' },
    });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).not.toContain('\u202e');
    expect(html).toContain('/gnp.exe\ufffdx');
  });
});

describe('fuzz findings in SAML responses', () => {
  it.each([
    [
      'inside the SignatureValue',
      (xml: string) => xml.replace('<SignatureValue>', '<SignatureValue>\u0000'),
    ],
    [
      'inside the DigestValue',
      (xml: string) => xml.replace('<DigestValue>', '<DigestValue>\u0001'),
    ],
    [
      'between two elements',
      (xml: string) => xml.replace('<saml:Subject>', '\u0000<saml:Subject>'),
    ],
  ])(
    'a signed response with a control character %s is refused as not well-formed XML',
    async (_, alter) => {
      t = await startSamlBroker();
      const { id, relayState } = await t.startLogin();
      const res = await t.postAcs(
        b64(alter(unb64(t.response({ inResponseTo: id })))),
        relayState ?? undefined,
      );
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/not well-formed XML/);
    },
  );

  it.each([
    [
      '"]]>" inside the SignatureValue',
      (xml: string) => xml.replace('<SignatureValue>', '<SignatureValue>]]>'),
    ],
    ['"!" inside the DigestValue', (xml: string) => xml.replace('<DigestValue>', '<DigestValue>!')],
  ])('a signed response with %s is refused: a signature has one spelling', async (_, alter) => {
    t = await startSamlBroker();
    const { id, relayState } = await t.startLogin();
    const res = await t.postAcs(
      b64(alter(unb64(t.response({ inResponseTo: id })))),
      relayState ?? undefined,
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/(SignatureValue|DigestValue) that is not base64/);
  });
});
