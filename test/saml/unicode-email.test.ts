import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { form } from '../helpers/broker.js';
import { IDP_ENTITY_ID, IDP_SSO_URL, TestIdp, TestIdpLogout, b64 } from '../helpers/saml-idp.js';
import {
  ISSUER,
  ROLES,
  get,
  startSamlBroker,
  type SamlTestBroker,
} from '../helpers/saml-broker.js';

/**
 * A person is `user:<email>`: whatever the broker folds into the same text
 * is the same person. Every login here is a real Response signed by the test
 * IdP, so only the address differs from an ordinary login.
 */
let t: SamlTestBroker;
afterEach(() => t?.cleanup());

const IDP_SLO = 'https://idp.test/slo';
/** Karl has a role of his own, written in config with capitals. */
const KARL_ROLE = { name: 'karl', when: { email: 'Karl@Example.com' }, grant: ['read:karl/*'] };

async function broker(): Promise<SamlTestBroker> {
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
  const idp = new TestIdp(() => clock.now(), IDP_ENTITY_ID, IDP_SSO_URL, IDP_SLO);
  return startSamlBroker({
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
    sso: { roles: [...ROLES, KARL_ROLE] },
  });
}

/** One login through the ACS; the address arrives in the email attribute or, if `via` says so, only as the NameID. */
async function loginAs(address: string, via: 'attribute' | 'NameID'): Promise<Response> {
  const { id, relayState } = await t.startLogin();
  const response = t.response({
    inResponseTo: id,
    nameId: via === 'NameID' ? address : 'opaque-0042',
    attributes:
      via === 'attribute'
        ? { email: [address], groups: ['ml-engineers'] }
        : { groups: ['ml-engineers'] },
  });
  return t.postAcs(response, relayState ?? undefined);
}

const confusable: Array<{ name: string; address: string; character: string }> = [
  { name: 'KELVIN SIGN for k', address: '\u212Aarl@example.com', character: 'U+212A' },
  { name: 'the ff ligature', address: '\uFB00@example.com', character: 'U+FB00' },
  { name: 'fullwidth letters', address: '\uFF4Barl@example.com', character: 'U+FF4B' },
  { name: 'a dotted capital I', address: '\u0130nes@example.com', character: 'U+0130' },
  { name: 'a dotless i', address: 'kar\u0131@example.com', character: 'U+0131' },
  { name: 'an upper-case accented letter', address: 'jos\u00C9@example.com', character: 'U+00C9' },
  {
    name: 'sharp s (case folding makes it ss)',
    address: 'stra\u00DFe@example.de',
    character: 'U+00DF',
  },
  {
    name: 'a combining accent (NFKC composes it)',
    address: 'jose\u0301@example.com',
    character: 'U+0301',
  },
  { name: 'a zero-width space', address: 'karl\u200B@example.com', character: 'U+200B' },
  { name: 'a right-to-left override', address: 'karl\u202E@example.com', character: 'U+202E' },
];

describe('email addresses that Unicode would fold into another person', () => {
  for (const via of ['attribute', 'NameID'] as const) {
    for (const c of confusable) {
      it(`refuses ${c.name} in the ${via}, says why, and audits it`, async () => {
        t = await broker();
        const res = await loginAs(c.address, via);
        expect(res.status).toBe(400);
        const html = await res.text();
        expect(html).toContain('could be confused with another person');
        expect(html).toContain(c.character);
        expect(html).toContain('ask your IdP administrator');
        expect(await t.sessionCount()).toBe(0);
        const [row] = await t.broker.store.queryAudit({ event: 'login.failed' });
        expect(row).toMatchObject({ outcome: 'denied', subject: null });
        expect(row!.reason).toMatch(/^saml_invalid: the IdP asserted an email address/);
        expect(row!.detail).toMatchObject({
          check: 'email',
          character: c.character,
          from: via === 'attribute' ? 'email attribute' : 'NameID',
          asserted: c.address,
        });
        expect(await t.broker.store.queryAudit({ event: 'login' })).toEqual([]);
      });
    }
  }

  it('folds ASCII case only: Alice@Contoso.com is user:alice@contoso.com', async () => {
    t = await broker();
    expect((await loginAs('Alice@Contoso.com', 'attribute')).status).toBe(303);
    const [row] = await t.broker.store.queryAudit({ event: 'login' });
    expect(row).toMatchObject({ subject: 'user:alice@contoso.com', policy: 'ml-engineers' });
  });

  it('accepts a non-ASCII address already in its stable form, byte for byte', async () => {
    t = await broker();
    for (const address of ['jos\u00E9@example.com', '\u540D\u524D@example.jp']) {
      expect((await loginAs(address, 'attribute')).status).toBe(303);
    }
    const subjects = (await t.broker.store.queryAudit({ event: 'login' })).map((r) => r.subject);
    expect(subjects.sort()).toEqual(['user:jos\u00E9@example.com', 'user:\u540D\u524D@example.jp']);
  });

  it('does not check the NameID when the email comes from the attribute', async () => {
    t = await broker();
    const { id, relayState } = await t.startLogin();
    const response = t.response({
      inResponseTo: id,
      nameId: '\uFF4Barl-opaque',
      attributes: { email: ['Alice@Example.com'], groups: ['ml-engineers'] },
    });
    expect((await t.postAcs(response, relayState ?? undefined)).status).toBe(303);
    const [row] = await t.broker.store.queryAudit({ event: 'login' });
    expect(row).toMatchObject({ subject: 'user:alice@example.com' });
  });

  it('matches a role on email in the same folded form: Karl@Example.com in config is karl', async () => {
    t = await broker();
    expect((await loginAs('KARL@example.com', 'attribute')).status).toBe(303);
    const [row] = await t.broker.store.queryAudit({ event: 'login' });
    expect(row).toMatchObject({ subject: 'user:karl@example.com', policy: 'ml-engineers,karl' });

    // The KELVIN SIGN account is refused before any role is looked at.
    const kelvin = await loginAs('\u212Aarl@example.com', 'attribute');
    expect(kelvin.status).toBe(400);
    expect(await t.broker.store.queryAudit({ event: 'login' })).toHaveLength(1);
  });

  it("does not end Karl's sessions for a LogoutRequest whose NameID has a KELVIN SIGN", async () => {
    t = await broker();
    const logout = new TestIdpLogout(t.idp, () => t.clock.now());
    const karl = await t.login({
      nameId: 'karl@example.com',
      attributes: { email: ['karl@example.com'], groups: ['ml-engineers'] },
    });
    const xml = logout.postXml({
      destination: `${ISSUER}/saml/slo`,
      nameId: '\u212Aarl@example.com',
    });
    const res = await t.broker.app.request('/saml/slo', form({ SAMLRequest: b64(xml) }));
    expect(res.status).toBe(303);
    expect(await t.sessionCount()).toBe(1);
    expect((await get(t, '/', karl)).status).toBe(200);
    const [row] = await t.broker.store.queryAudit({ event: 'logout.idp' });
    expect(row).toMatchObject({ outcome: 'denied', subject: null });

    // The same request naming Karl plainly ends his session.
    const plain = logout.postXml({ destination: `${ISSUER}/saml/slo`, nameId: 'Karl@example.com' });
    await t.broker.app.request('/saml/slo', form({ SAMLRequest: b64(plain) }));
    expect(await t.sessionCount()).toBe(0);
  });

  it('refuses an address longer than RFC 5321 allows, before any pattern runs on it', async () => {
    t = await broker();
    // The email pattern backtracks on a long run of `b.`: 50,000 characters
    // of it took 5.5 s before addresses were capped at 254.
    for (const address of [`${'a'.repeat(250)}@example.com`, `a@${'b.'.repeat(20_000)} `]) {
      const res = await loginAs(address, 'NameID');
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('the IdP sent no email address for you');
    }
    expect(await t.sessionCount()).toBe(0);
  });
});
