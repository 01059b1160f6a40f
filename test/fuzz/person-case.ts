import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { encodeLoosely, hostile, scopeParam, text, ttlParam } from './arbitraries.js';
import { decodeSegment } from './jwt.js';
import { fail, send, type Stats } from './http.js';
import { ROLE_GRANT, plausiblyCovered, scopeIsWellFormed } from './policy-oracle.js';
import type { World } from './world.js';

/**
 * The person's page and the browser routes around it: GET /, the mint form
 * (POST /tokens), the revoke buttons, logout and single logout, with a real
 * session or a forged one, the right CSRF field or not.
 */
const cookieKind = fc.oneof(
  { weight: 6, arbitrary: fc.constant('valid') },
  { weight: 1, arbitrary: fc.constantFrom('none', 'junk', 'long', 'twice', 'host-prefix') },
);

export const personCase = fc.record({
  route: fc.constantFrom(
    'GET /',
    'POST /tokens',
    'POST /tokens',
    'POST /tokens/:jti/revoke',
    'POST /saml/logout',
    'GET /saml/slo',
    'POST /saml/slo',
  ),
  slot: fc.nat(3),
  cookie: cookieKind,
  csrf: fc.oneof(
    { weight: 6, arbitrary: fc.constant('valid') },
    { weight: 1, arbitrary: fc.oneof(fc.constant('none'), text) },
  ),
  scope: fc.option(scopeParam, { nil: undefined }),
  ttl: fc.option(ttlParam, { nil: undefined }),
  jti: fc.oneof(fc.constant('own'), fc.constant('other'), text),
  accept: fc.constantFrom('text/html', 'application/json', '*/*'),
  slo: fc.record({
    samlRequest: fc.oneof(
      fc.constant(undefined),
      text,
      fc.constantFrom(
        'fZBBa8MwDIX',
        deflateRawSync(Buffer.from('<x/>')).toString('base64'),
        Buffer.from('garbage deflate').toString('base64'),
      ),
      text.map((t) => deflateRawSync(Buffer.from(t)).toString('base64')),
    ),
    relayState: fc.option(hostile, { nil: undefined }),
    sigAlg: fc.option(
      fc.constantFrom(
        'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
        'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
        'none',
      ),
      { nil: undefined },
    ),
    signature: fc.option(text, { nil: undefined }),
  }),
});
export type PersonCase = typeof personCase extends fc.Arbitrary<infer T> ? T : never;

export async function runPerson(world: World, stats: Stats, c: PersonCase): Promise<void> {
  const s = await world.session(c.slot);
  const name = s.cookie.slice(0, s.cookie.indexOf('='));
  const cookie = {
    valid: s.cookie,
    none: undefined,
    junk: `${name}=AAAA; tb_saml_login=x`,
    long: `${name}=${'A'.repeat(5000)}`,
    twice: `${name}=bogus; ${s.cookie}`,
    'host-prefix': `__Host-${s.cookie}`,
  }[c.cookie];
  const csrf = c.csrf === 'valid' ? s.csrf : c.csrf === 'none' ? undefined : c.csrf;
  const [method, route] = c.route.split(' ') as [string, string];
  const own = [...world.issued.values()].find(
    (r) => r.subject === 'user:alice@example.com' && !r.revoked,
  );
  const jti =
    c.jti === 'own'
      ? (own?.jti ?? 'none')
      : c.jti === 'other'
        ? (world.brokerTokens[3]?.jti ?? 'x')
        : c.jti;
  let path = route.replace(':jti', encodeLoosely(jti));
  const form = new URLSearchParams();
  if (csrf !== undefined) form.set('csrf', csrf);
  if (c.scope !== undefined) form.set('scope', c.scope);
  if (c.ttl !== undefined) form.set('ttl', c.ttl);
  if (route === '/saml/slo') {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({
      SAMLRequest: c.slo.samlRequest,
      RelayState: c.slo.relayState,
      SigAlg: c.slo.sigAlg,
      Signature: c.slo.signature,
    })) {
      if (v !== undefined) q.set(k, v);
    }
    if (method === 'GET') path = `${path}?${q}`;
    else for (const [k, v] of q) form.set(k, v);
  }
  const headers: Record<string, string> = { Accept: c.accept };
  if (cookie) headers.Cookie = cookie;
  if (method === 'POST') headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const describe = () => `person ${JSON.stringify({ case: c, path })}`;
  const sent = await send(
    world,
    stats,
    path,
    { method, headers, ...(method === 'POST' ? { body: form.toString() } : {}) },
    describe,
  );

  const minted = /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.exec(sent.body)?.[0];
  if (minted && route === '/tokens') {
    if (c.cookie !== 'valid' && c.cookie !== 'twice')
      fail('token-for-invalid-input', `a token minted without a session | ${describe()}`);
    if (c.csrf !== 'valid')
      fail('csrf-bypass', `a token minted without the CSRF field | ${describe()}`);
    const payload = decodeSegment(minted, 1) ?? {};
    const scopes = String(payload.scope ?? '').split(' ');
    for (const sc of scopes) {
      if (!scopeIsWellFormed(sc))
        fail('junk-scope-issued', `the page minted scope ${JSON.stringify(sc)} | ${describe()}`);
      if (!plausiblyCovered(ROLE_GRANT, sc))
        fail('scope-not-granted', `the page minted ${sc} | ${describe()}`);
    }
    if (c.scope !== undefined && c.scope.trim() !== '') {
      for (const w of c.scope.trim().split(/\s+/)) {
        if (!scopeIsWellFormed(w) || !plausiblyCovered(ROLE_GRANT, w))
          fail(
            'token-for-invalid-input',
            `the page minted although ${JSON.stringify(w)} is not grantable | ${describe()}`,
          );
      }
    }
    world.record({
      token: minted,
      jti: String(payload.jti),
      subject: String(payload.sub),
      scopes,
      expiresAt: Number(payload.exp),
      parent: undefined,
      revoked: false,
    });
  } else if (minted && route !== '/') {
    fail('token-elsewhere', `a token on a page that mints none | ${describe()}`);
  }
  if (route === '/tokens/:jti/revoke' && sent.res.status === 303) {
    if (c.csrf !== 'valid')
      fail('csrf-bypass', `a token revoked without the CSRF field | ${describe()}`);
    const rec = [...world.issued.values()].find((r) => r.jti === jti);
    if (rec && rec.subject !== 'user:alice@example.com')
      fail('revoke-others-token', `revoked another subject's token | ${describe()}`);
    if (rec) world.revoke(rec.jti);
  }
  // A logout may have ended this slot's session: the next case starts a fresh one.
  const loggedOut =
    (route === '/saml/logout' && c.csrf === 'valid' && c.cookie !== 'none') ||
    (route === '/saml/slo' && [302, 303].includes(sent.res.status));
  if (loggedOut) world.dropSession(c.slot);
}
