import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { sessionCookie } from '../helpers/saml-broker.js';
import { signElement } from '../helpers/saml-idp.js';
import { encodeLoosely, hostile, text } from './arbitraries.js';
import { fail, send, type Stats } from './http.js';
import type { World } from './world.js';

/**
 * POST /saml/acs with responses the real IdP signed, then altered: bit
 * flips, the signature removed, an assertion smuggled beside or inside the
 * signed one, comments in the NameID, entities, re-signing by a forger,
 * base64 noise, deflated bodies. A login may succeed only when the XML the
 * broker reads is the XML the IdP signed, and then only as the signed person.
 */
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const evil = (id: string) =>
  `<saml:Assertion xmlns:saml="${SAML_NS}" ID="${id}" Version="2.0" IssueInstant="2026-01-15T12:00:00Z"><saml:Issuer>https://idp.test/metadata</saml:Issuer><saml:Subject><saml:NameID>mallory@example.com</saml:NameID></saml:Subject><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>mallory@example.com</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>`;

const at = fc.double({ min: 0, max: 1, noNaN: true });
export const xmlMutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 6 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at,
    text: fc.oneof(
      fc.constantFrom('<!---->', '<x/>', '&amp;', ' ', '"', '>', ']]>', '\u0000'),
      text,
    ),
  }),
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.constantFrom(
    { op: 'remove-signature' as const },
    { op: 'evil-before' as const },
    { op: 'evil-after' as const },
    { op: 'evil-advice' as const },
    { op: 'evil-extensions' as const },
    { op: 'duplicate-assertion' as const },
    { op: 'comment-nameid' as const },
    { op: 'comment-email' as const },
    { op: 'replace-email' as const },
    { op: 'doctype-entity' as const },
    { op: 'billion-laughs' as const },
    { op: 'processing-instruction' as const },
    { op: 'forger-resign' as const },
    { op: 'prefix-rename' as const },
  ),
);
type XmlMutation = typeof xmlMutation extends fc.Arbitrary<infer T> ? T : never;

function alter(world: World, xml: string, m: XmlMutation): string {
  const pos = (f: number) => Math.min(xml.length, Math.floor(f * xml.length));
  const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)?.[0] ?? '';
  switch (m.op) {
    case 'flip': {
      const i = Math.min(xml.length - 1, pos(m.at));
      return (
        xml.slice(0, i) + String.fromCharCode(xml.charCodeAt(i) ^ (1 << m.bit)) + xml.slice(i + 1)
      );
    }
    case 'insert':
      return xml.slice(0, pos(m.at)) + m.text + xml.slice(pos(m.at));
    case 'truncate':
      return xml.slice(0, pos(m.at));
    case 'remove-signature':
      return xml.replace(/<(ds:)?Signature[\s\S]*<\/(ds:)?Signature>/, '');
    case 'evil-before':
      return xml.replace('<saml:Assertion', `${evil('_evil')}<saml:Assertion`);
    case 'evil-after':
      return xml.replace('</samlp:Response>', `${evil('_evil')}</samlp:Response>`);
    case 'evil-advice':
      return xml.replace(
        '<saml:AttributeStatement>',
        `<saml:Advice>${evil('_evil')}</saml:Advice><saml:AttributeStatement>`,
      );
    case 'evil-extensions':
      return xml
        .replace(assertion, evil('_evil'))
        .replace(
          '<samlp:Status>',
          `<samlp:Extensions>${assertion}</samlp:Extensions><samlp:Status>`,
        );
    case 'duplicate-assertion':
      return xml.replace(assertion, assertion + assertion);
    case 'comment-nameid':
      return xml.replace(/(<saml:NameID[^>]*>[^<@]*)@/, '$1<!---->@');
    case 'comment-email':
      return xml.replace(/(<saml:AttributeValue>[^<@]*)@/, '$1@<!--x-->');
    case 'replace-email':
      return xml.replace(
        /<saml:AttributeValue>[^<]*@[^<]*<\/saml:AttributeValue>/,
        '<saml:AttributeValue>mallory@example.com</saml:AttributeValue>',
      );
    case 'doctype-entity':
      return `<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>${xml.replace('alice', '&e;')}`;
    case 'billion-laughs':
      return `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>${xml.replace('<saml:Issuer>', '<saml:Issuer>&d;')}`;
    case 'processing-instruction':
      return xml.replace('<saml:NameID', '<?evil x?><saml:NameID');
    case 'forger-resign':
      return signElement(
        xml
          .replace(/<(ds:)?Signature[\s\S]*<\/(ds:)?Signature>/, '')
          .replace(/alice@/g, 'mallory@'),
        world.forgerIdp,
        "//*[local-name(.)='Assertion']",
      );
    case 'prefix-rename':
      return xml.replace(/saml:/g, 'saml2:').replace('xmlns:saml=', 'xmlns:saml2=');
  }
}

export const acsCase = fc.record({
  slot: fc.nat(7),
  email: fc.oneof(
    { weight: 8, arbitrary: fc.constant('alice@example.com') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'ALICE@Example.COM',
        '\u212Aelly@example.com',
        'alice@exam\u017Fple.com',
        'alİce@example.com',
        'a<b>@example.com',
      ),
    },
  ),
  mutation: fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 5, arbitrary: xmlMutation },
  ),
  encoding: fc.constantFrom(
    'b64',
    'b64',
    'b64',
    'b64-whitespace',
    'deflate',
    'raw-xml',
    'b64url',
    'b64-noise',
  ),
  cookie: fc.oneof(
    { weight: 6, arbitrary: fc.constant('own') },
    { weight: 1, arbitrary: fc.constantFrom('none', 'other', 'junk') },
  ),
  relayState: fc.option(
    fc.oneof(
      fc.constantFrom(
        '/',
        '/tokens',
        '//evil.test',
        'https://evil.test/',
        '/\\evil.test',
        '/%2F%2Fevil.test',
      ),
      hostile,
    ),
    { nil: undefined },
  ),
});
export type AcsCase = typeof acsCase extends fc.Arbitrary<infer T> ? T : never;

function encode(xml: string, how: AcsCase['encoding']): string {
  const b = Buffer.from(xml, 'utf8');
  switch (how) {
    case 'b64':
      return b.toString('base64');
    case 'b64-whitespace':
      return b.toString('base64').replace(/(.{76})/g, '$1\r\n');
    case 'deflate':
      return deflateRawSync(b).toString('base64');
    case 'raw-xml':
      return xml;
    case 'b64url':
      return b.toString('base64url');
    case 'b64-noise':
      return `${b.toString('base64').slice(0, 40)}!@#${b.toString('base64').slice(40)}`;
  }
}

/** What the broker should read from a posted value: only well-formed base64 (whitespace aside) is the signed XML. */
const strictDecode = (v: string) => {
  const s = v.replace(/\s+/g, '');
  return /^[A-Za-z0-9+/]+={0,2}$/.test(s) && s.length % 4 === 0
    ? Buffer.from(s, 'base64').toString('utf8')
    : undefined;
};

/**
 * The assertion as its signature sees it, roughly: comments, processing
 * instructions and KeyInfo dropped (the broker verifies with the configured
 * certificates, never the one the message carries).
 */
function signedPart(xml: string): string | undefined {
  const all = xml.match(/<saml:Assertion[\s\S]*?<\/saml:Assertion>/g);
  return all?.length === 1
    ? all[0]!
        .replace(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<KeyInfo>[\s\S]*?<\/KeyInfo>/g, '')
        .replace(/\s+/g, ' ')
        .replace(/\s*(\/?>)/g, '$1')
    : undefined;
}

export async function runAcs(world: World, stats: Stats, c: AcsCase): Promise<void> {
  const login = await world.login(c.slot, c.email);
  const xml = c.mutation ? alter(world, login.xml, c.mutation) : login.xml;
  const value = encode(xml, c.encoding);
  const cookie =
    c.cookie === 'own'
      ? login.cookie
      : c.cookie === 'other'
        ? (await world.login((c.slot + 1) % 8)).cookie
        : c.cookie === 'junk'
          ? 'tb_saml_login=_x~1.;;'
          : undefined;
  const params = new URLSearchParams({
    SAMLResponse: value,
    ...(c.relayState !== undefined ? { RelayState: c.relayState } : {}),
  });
  const describe = () =>
    `ACS ${JSON.stringify({ case: c, xml: xml.length > 3000 ? `${xml.slice(0, 3000)}...` : xml })}`;
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (cookie) headers.Cookie = cookie;
  const sent = await send(
    world,
    stats,
    '/saml/acs',
    { method: 'POST', headers, body: params.toString() },
    describe,
  );
  const session = sessionCookie(sent.res);
  if (sent.res.status !== 303 && !session) return;
  world.spent(c.slot);
  if (c.cookie !== 'own')
    fail(
      'login-without-binding',
      `a login succeeded without this browser's login cookie | ${describe()}`,
    );
  // The Response around the assertion is not signed, and comments and
  // processing instructions are not part of what a signature covers: a change
  // there may be accepted. Any other change to the signed assertion may not.
  const decoded = strictDecode(value);
  if (decoded === undefined || signedPart(decoded) !== signedPart(login.xml)) {
    fail(
      'saml-altered-accepted',
      `a login succeeded with an assertion the IdP did not sign as is (${c.mutation?.op ?? c.encoding}) | ${describe()}`,
    );
  }
  const location = sent.res.headers.get('location') ?? '';
  if (!location.startsWith('/') || location.startsWith('//') || location.startsWith('/\\')) {
    fail('open-redirect', `after login the broker redirects to ${location} | ${describe()}`);
  }
  const row = world.broker.store.db
    .prepare("SELECT subject FROM audit_events WHERE event = 'login' ORDER BY id DESC LIMIT 1")
    .get() as { subject: string } | undefined;
  // Only ASCII letters fold: the IdP compares addresses that way, and any other folding merges people.
  const expected = `user:${login.email.replace(/[A-Z]/g, (ch) => ch.toLowerCase())}`;
  if (row?.subject !== expected) {
    fail(
      'saml-identity-changed',
      `the IdP signed ${JSON.stringify(login.email)} but the session is ${JSON.stringify(row?.subject)} | ${describe()}`,
    );
  }
}

export const loginCase = fc.record({
  returnTo: fc.option(
    fc.oneof(
      fc.constantFrom(
        '/',
        '/tokens?x=1',
        '//evil.test',
        '/\\evil.test',
        'https://evil.test',
        '/%0d%0aSet-Cookie:x=1',
        '/a'.repeat(2000),
      ),
      hostile,
      text,
    ),
    { nil: undefined },
  ),
  cookie: fc.option(
    fc.oneof(
      fc.constantFrom('tb_saml_login=' + '_a~1.'.repeat(200), 'tb_saml_login=%ZZ', 'tb_session=x'),
      text.map((t) => `tb_saml_login=${t}`),
    ),
    { nil: undefined },
  ),
});
export type LoginCase = typeof loginCase extends fc.Arbitrary<infer T> ? T : never;

export async function runLogin(world: World, stats: Stats, c: LoginCase): Promise<void> {
  const q = c.returnTo === undefined ? '' : `?return_to=${encodeLoosely(c.returnTo)}`;
  const describe = () => `login ${JSON.stringify(c)}`;
  const sent = await send(
    world,
    stats,
    `/saml/login${q}`,
    { headers: c.cookie ? { Cookie: c.cookie } : {} },
    describe,
  );
  if (
    sent.res.status === 302 &&
    !(sent.res.headers.get('location') ?? '').startsWith(world.idp.ssoUrl)
  ) {
    fail(
      'open-redirect',
      `/saml/login redirects to ${sent.res.headers.get('location')} | ${describe()}`,
    );
  }
}
