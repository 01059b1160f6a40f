import type { Encoding, ExchangeParams } from './arbitraries.js';
import { decodeSegment } from './jwt.js';
import { fail } from './http.js';
import { normalizedResource, plausiblyCovered, scopeIsWellFormed } from './policy-oracle.js';

/**
 * The request-level half of the token endpoint's oracle: reasons, read from
 * the parameters alone, why no token may be issued; and the checks on a
 * token that was issued.
 */
export const TYPES: Record<string, string> = {
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
};
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** A token for input whose only fault is its `resource` is one known fault: grouped apart. */
export function refusalKind(why: readonly string[]): string {
  return why.every((w) => w.startsWith('resource ') || w.startsWith('nothing granted on'))
    ? 'token-for-invalid-resource'
    : 'token-for-invalid-input';
}

export function exchangeBody(p: ExchangeParams, subjectToken: string): Array<[string, unknown]> {
  const list: Array<[string, unknown]> = [
    ['grant_type', p.grantType],
    ['subject_token', subjectToken],
    ['subject_token_type', Object.hasOwn(TYPES, p.tokenType) ? TYPES[p.tokenType]! : p.tokenType],
  ];
  if (p.scope !== undefined) list.push(['scope', p.scope]);
  if (p.resource !== undefined) list.push(['resource', p.resource]);
  if (p.ttl !== undefined) list.push(['ttl', p.ttl]);
  const json = p.encoding === 'json' || p.encoding === 'json-typed';
  for (const [k, v] of p.extra) {
    // A JSON object cannot repeat a key: the later one would silently win.
    if (json && list.some(([n]) => n === k)) continue;
    list.push([k, v]);
  }
  return list;
}

/** Why the parameters alone forbid a token (empty: they allow one). */
export function paramRefusals(p: ExchangeParams, grants: readonly string[]): string[] {
  const why: string[] = [];
  const enc: Encoding = p.encoding;
  if (enc === 'bad-type' || enc === 'none') why.push('wrong Content-Type');
  if (enc === 'form-dup') why.push('a repeated parameter');
  // The parameters the body carries before the extra ones (scope, resource, ttl only when asked).
  const names = new Set(exchangeBody({ ...p, extra: [] }, '').map(([k]) => k));
  const json = enc === 'json' || enc === 'json-typed';
  if (!Object.hasOwn(TYPES, p.tokenType)) why.push('subject_token_type');
  for (const [k, v] of p.extra) {
    if (names.has(k)) {
      if (!json) why.push(`parameter ${k} repeated`);
      continue;
    }
    names.add(k);
    if (enc === 'json-typed' && v === null) continue; // a JSON null is an absent parameter
    if (enc === 'json-typed' && typeof v !== 'string') {
      why.push(`JSON ${k} is not a string`);
      continue;
    }
    const value = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
    if (k === 'audience' && value !== 'https://hub.test') why.push('another audience');
    if (k === 'actor_token') why.push('actor_token');
    if (k === 'requested_token_type' && value !== TYPES.access_token)
      why.push('requested_token_type');
  }
  if (p.grantType !== GRANT) why.push('grant_type');
  if (p.scope !== undefined && p.scope.trim() !== '') {
    const words = [...new Set(p.scope.trim().split(/\s+/))];
    if (words.length > 50) why.push('over 50 scopes');
    for (const w of words) {
      if (!scopeIsWellFormed(w)) why.push(`scope ${JSON.stringify(w)} is malformed`);
      else if (!plausiblyCovered(grants, w)) why.push(`scope ${w} is not granted`);
    }
  }
  if (p.resource !== undefined && p.resource !== '') {
    const r = normalizedResource(p.resource);
    if (r === undefined) why.push(`resource ${JSON.stringify(p.resource)} is not a repository`);
    else if (!grants.some((g) => plausiblyCovered([g], `${g.slice(0, g.indexOf(':'))}:${r}`))) {
      why.push(`nothing granted on ${r}`);
    }
  }
  if (p.ttl !== undefined && p.ttl !== '') {
    const t = p.ttl.trim();
    const m = /^(\d{1,9})([smhd]?)$/.exec(t);
    if (!m || Number(m[1]) < 1) why.push(`ttl ${JSON.stringify(p.ttl)}`);
  }
  return why;
}

/** Seconds the requested ttl stands for, if it is one. */
function ttlSeconds(ttl: string | undefined): number | undefined {
  const m = /^(\d{1,9})([smhd]?)$/.exec((ttl ?? '').trim());
  if (!m) return undefined;
  return (
    Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2]!]!
  );
}

export interface Issued {
  token: string;
  jti: string;
  sub: string;
  scopes: string[];
  exp: number;
  expiresIn: number;
}

/**
 * Checks a 200 from the token endpoint against RFC 8693 and what may be
 * granted: the success shape, every scope well formed and covered by
 * `grants`, the asked scopes or resource honoured, the lifetime capped.
 */
export function checkIssued(
  body: string,
  p: ExchangeParams,
  grants: readonly string[],
  maxTtl: number,
  describe: () => string,
): Issued {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body) as Record<string, unknown>;
  } catch {
    fail('success-shape', `a 200 whose body is not JSON | ${describe()}`);
  }
  if (
    typeof j.access_token !== 'string' ||
    j.token_type !== 'Bearer' ||
    j.issued_token_type !== TYPES.access_token ||
    typeof j.expires_in !== 'number' ||
    typeof j.scope !== 'string'
  ) {
    fail('success-shape', `not RFC 8693's success shape: ${body.slice(0, 300)} | ${describe()}`);
  }
  const payload = decodeSegment(j.access_token, 1);
  if (!payload || typeof payload.jti !== 'string' || typeof payload.sub !== 'string') {
    fail('success-shape', `the access_token is not a JWT with jti and sub | ${describe()}`);
  }
  const scopes = j.scope.split(' ');
  if (payload.scope !== j.scope)
    fail('success-shape', `scope ${j.scope} differs from the token's claim | ${describe()}`);
  for (const s of scopes) {
    if (!scopeIsWellFormed(s))
      fail(
        // A scope built from the `resource` parameter: the known resource fault.
        p.resource ? 'token-for-invalid-resource' : 'junk-scope-issued',
        `issued scope ${JSON.stringify(s)} breaks the scope grammar | ${describe()}`,
      );
    if (!plausiblyCovered(grants, s))
      fail(
        'scope-not-granted',
        `issued scope ${s} is not covered by ${grants.join(' ')} | ${describe()}`,
      );
  }
  if (p.scope !== undefined && p.scope.trim() !== '') {
    const asked = new Set(p.scope.trim().split(/\s+/));
    if (asked.size !== scopes.length || scopes.some((s) => !asked.has(s))) {
      fail('scope-not-asked', `asked ${[...asked].join(' ')}, got ${j.scope} | ${describe()}`);
    }
  }
  if (p.resource !== undefined && p.resource !== '') {
    const r = normalizedResource(p.resource);
    if (scopes.some((s) => s.slice(s.indexOf(':') + 1) !== r)) {
      fail('resource-ignored', `resource ${p.resource} asked, got ${j.scope} | ${describe()}`);
    }
  }
  const cap = Math.min(maxTtl, ttlSeconds(p.ttl) ?? Infinity);
  if (j.expires_in < 1 || j.expires_in > cap) {
    fail('ttl-over-cap', `expires_in ${j.expires_in} outside 1..${cap} | ${describe()}`);
  }
  return {
    token: j.access_token,
    jti: payload.jti,
    sub: payload.sub,
    scopes,
    exp: Number(payload.exp),
    expiresIn: j.expires_in,
  };
}
