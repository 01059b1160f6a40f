import fc from 'fast-check';
import { HUB_SECRET, basic } from '../helpers/broker.js';
import { encoding, exchangeParams, mutation, text } from './arbitraries.js';
import { checkIssued, exchangeBody, paramRefusals, refusalKind } from './exchange-oracle.js';
import { encodeBody, fail, send, type Stats } from './http.js';
import { decodeSegment, lenientBytes, mutate, signJws, type Mutation } from './jwt.js';
import { plausiblyCovered } from './policy-oracle.js';
import type { IssuedRecord, World } from './world.js';

/**
 * The broker's own tokens as input: narrowed at /token, introspected,
 * revoked. Each case picks a token the broker issued (live, revoked, expired,
 * or one issued during this run), may alter it bytewise or forge one from its
 * claims, and the oracle knows which strings are live tokens.
 */
const forge = fc.constantFrom('none', 'hmac', 'stranger', 'wider-scope');

const subjectToken = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      pick: fc.nat(),
      mutation: fc.constant(undefined),
      forge: fc.constant(undefined),
    }),
  },
  { weight: 3, arbitrary: fc.record({ pick: fc.nat(), mutation, forge: fc.constant(undefined) }) },
  { weight: 1, arbitrary: fc.record({ pick: fc.nat(), mutation: fc.constant(undefined), forge }) },
  {
    weight: 1,
    arbitrary: fc.record({
      pick: fc.constant(-1),
      mutation: fc.constant(undefined),
      forge: fc.constant(undefined),
      junk: text,
    }),
  },
);
type SubjectToken = typeof subjectToken extends fc.Arbitrary<infer T> ? T : never;

function pool(world: World): IssuedRecord[] {
  return [...world.issued.values()];
}

async function materialize(
  world: World,
  t: SubjectToken,
): Promise<{ token: string; from: IssuedRecord | undefined }> {
  if ('junk' in t && t.junk !== undefined) return { token: t.junk, from: undefined };
  const all = pool(world);
  // Mostly the seeded tokens (all states), sometimes one issued during the run.
  const from =
    t.pick % 3 === 0 && all.length > world.brokerTokens.length
      ? all[all.length - 1 - ((t.pick % 50) % all.length)]!
      : world.brokerTokens[t.pick % world.brokerTokens.length]!;
  if (t.mutation) return { token: mutate(from.token, t.mutation as Mutation), from };
  if (t.forge) {
    const header = decodeSegment(from.token, 0) ?? {};
    const payload = { ...decodeSegment(from.token, 1) };
    switch (t.forge) {
      case 'none':
        return {
          token: await signJws({ ...header, alg: 'none' }, payload, { kind: 'none' }),
          from,
        };
      case 'hmac':
        return {
          token: await signJws({ ...header, alg: 'HS256' }, payload, {
            kind: 'hmac',
            secret: 'secret',
          }),
          from,
        };
      case 'stranger':
        return {
          token: await signJws({ ...header, alg: 'ES256' }, payload, {
            kind: 'key',
            key: world.stranger.es,
          }),
          from,
        };
      case 'wider-scope':
        // Same key id, claims widened, the original signature kept.
        return {
          token: `${from.token.split('.')[0]}.${Buffer.from(JSON.stringify({ ...payload, scope: 'admin:**' })).toString('base64url')}.${from.token.split('.')[2]}`,
          from,
        };
    }
  }
  return { token: from.token, from };
}

/** A token the broker accepted although it is not, byte for byte, a live token it issued. */
function acceptedForeign(
  world: World,
  token: string,
  from: IssuedRecord | undefined,
  where: string,
  describe: () => string,
): never {
  if (
    from &&
    token !== from.token &&
    lenientBytes(token) === lenientBytes(from.token) &&
    world.isLive(from.token)
  ) {
    fail(
      'respelled-token-accepted',
      `${where} accepted a re-spelling of a live token (same bytes, other base64url) | ${describe()}`,
    );
  }
  fail(
    'token-for-invalid-input',
    `${where} accepted a token that is not a live token of this broker | ${describe()}`,
  );
}

export const narrowCase = fc.record({ subject: subjectToken, params: exchangeParams });
export type NarrowCase = typeof narrowCase extends fc.Arbitrary<infer T> ? T : never;

export async function runNarrow(world: World, stats: Stats, c: NarrowCase): Promise<void> {
  const { token, from } = await materialize(world, c.subject);
  const params = {
    ...c.params,
    tokenType: c.params.tokenType === 'id_token' ? 'access_token' : c.params.tokenType,
  };
  const live = world.isLive(token);
  const parent = world.issued.get(token);
  const why = paramRefusals(params, parent?.scopes ?? []);
  if (params.tokenType !== 'access_token') why.push('not sent as an access_token');
  const describe = () => `narrowing ${JSON.stringify({ case: c, token, live })}`;
  const { headers, body } = encodeBody(exchangeBody(params, token), params.encoding);
  const sent = await send(world, stats, params.path, { method: 'POST', headers, body }, describe);
  if (sent.res.status !== 200) return;
  if (!live || !parent) acceptedForeign(world, token, from, 'narrowing', describe);
  if (why.length > 0)
    fail(refusalKind(why), `narrowing answered 200 although ${why.join('; ')} | ${describe()}`);
  const remaining = parent.expiresAt - world.nowSeconds();
  const issued = checkIssued(sent.body, params, parent.scopes, Math.min(3600, remaining), describe);
  if (issued.sub !== parent.subject)
    fail(
      'wrong-subject',
      `narrowed token has sub ${issued.sub}, parent ${parent.subject} | ${describe()}`,
    );
  if (issued.exp > parent.expiresAt)
    fail('outlives-parent', `narrowed token outlives its parent | ${describe()}`);
  if (!issued.scopes.every((s) => plausiblyCovered(parent.scopes, s)))
    fail('scope-not-granted', `wider than the parent | ${describe()}`);
  world.record({
    token: issued.token,
    jti: issued.jti,
    subject: issued.sub,
    scopes: issued.scopes,
    expiresAt: issued.exp,
    parent: parent.jti,
    revoked: false,
  });
}

const auth = fc.oneof(
  { weight: 5, arbitrary: fc.constant('ok') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'none',
      'wrong-secret',
      'unknown-client',
      'bearer',
      'Basic',
      'Basic !!!',
      'Basic aHViOg==',
      'Basic aHVi',
      `Basic ${Buffer.from('hub:hub-secret-for-tests\u0000').toString('base64')}`,
      `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString('base64')}`,
      `Basic ${'A'.repeat(20_000)}`,
      'basic   ' + Buffer.from('hub:hub-secret-for-tests').toString('base64'),
      `Basic ${Buffer.from('h%ZZb:x').toString('base64')}`,
    ),
  },
  { weight: 1, arbitrary: text.map((t) => `raw:${t}`) },
);

/** Credentials that are the hub's, however spelled (RFC 7235: the scheme is case-insensitive). */
const VALID_AUTH = new Set([
  'ok',
  'basic   ' + Buffer.from('hub:hub-secret-for-tests').toString('base64'),
]);

function authHeader(a: string): string | undefined {
  if (a === 'ok') return basic('hub', HUB_SECRET);
  if (a === 'none') return undefined;
  if (a === 'wrong-secret') return basic('hub', `${HUB_SECRET}x`);
  if (a === 'unknown-client') return basic('hubx', HUB_SECRET);
  if (a === 'bearer') return 'Bearer x';
  return a.startsWith('raw:') ? a.slice(4) : a;
}

export const tokenOpCase = fc.record({
  endpoint: fc.constantFrom('/introspect' as const, '/revoke' as const),
  subject: subjectToken,
  auth,
  encoding,
  extra: fc.array(fc.tuple(fc.constantFrom('token', 'token_type_hint', 'client_id', 'x'), text), {
    maxLength: 2,
  }),
});
export type TokenOpCase = typeof tokenOpCase extends fc.Arbitrary<infer T> ? T : never;

export async function runTokenOp(world: World, stats: Stats, c: TokenOpCase): Promise<void> {
  const { token, from } = await materialize(world, c.subject);
  const wasLive = world.isLive(token);
  const describe = () => `${c.endpoint} ${JSON.stringify({ case: c, token, live: wasLive })}`;
  const enc = encodeBody([['token', token], ...c.extra], c.encoding);
  const header = authHeader(c.auth);
  if (header !== undefined) enc.headers.Authorization = header;
  const sent = await send(
    world,
    stats,
    c.endpoint,
    { method: 'POST', headers: enc.headers, body: enc.body },
    describe,
  );
  if (c.endpoint === '/revoke') {
    // Keep the oracle's view in step with the store, whatever the request looked like.
    const rec = world.issued.get(token);
    if (rec && !rec.revoked && (await world.broker.store.getToken(rec.jti))?.revokedAt != null)
      world.revoke(rec.jti);
    return;
  }
  if (!VALID_AUTH.has(c.auth)) {
    if (sent.res.status === 200)
      fail('introspect-without-auth', `/introspect answered 200 to ${c.auth} | ${describe()}`);
    return;
  }
  if (sent.res.status !== 200) return;
  const j = JSON.parse(sent.body) as { active?: unknown; scope?: unknown };
  if (typeof j.active !== 'boolean')
    fail('introspect-shape', `no boolean active: ${sent.body.slice(0, 200)} | ${describe()}`);
  if (j.active && !wasLive) acceptedForeign(world, token, from, '/introspect', describe);
}
