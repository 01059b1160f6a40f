import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { githubClaims, gitlabClaims } from '../helpers/oidc-issuer.js';
import { exchangeParams, jsonValue, mutation, text } from './arbitraries.js';
import { checkIssued, exchangeBody, paramRefusals, refusalKind } from './exchange-oracle.js';
import { Violation, encodeBody, fail, send, type Stats } from './http.js';
import { mutate, signJws, type Mutation, type Signer } from './jwt.js';
import { matchedPolicies, plausiblyCovered } from './policy-oracle.js';
import type { World } from './world.js';

/**
 * A CI token exchange: a GitHub- or GitLab-shaped token, its header and
 * claims edited at random, signed by the real issuer, by a stranger, by
 * nobody, or with HMAC, then perhaps altered bytewise. The oracle decides
 * from the token as sent whether a token may come back.
 */
const claimName = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'repository',
      'repository_id',
      'ref',
      'job_workflow_ref',
      'sub',
      'aud',
      'exp',
      'iat',
      'nbf',
      'jti',
      'iss',
      'event_name',
      'project_path',
      'ref_protected',
      'ref_type',
      'workflow',
      'run_id',
      'actor',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'ci') },
  { weight: 1, arbitrary: text },
);

const claimValue = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(
      'acme/models',
      'acme/other',
      'acme/models ',
      'ACME/models',
      'acme/models/x',
      'evil/acme/models',
      '860122172',
      860122172,
      'refs/heads/main',
      'refs/tags/v1.2',
      'refs/tags/v1/x',
      `refs/tags/v${'9'.repeat(2000)}`,
      'refs/heads/main\u0000',
      'acme/models/.github/workflows/release.yml@refs/heads/main',
      'acme/models/.github/workflows/release.yml',
      `acme/models/.github/workflows/release.yml@${'*'.repeat(3000)}`,
      'pull_request_target',
      'acme/redos',
      `${'a'.repeat(30)}!`,
      `${'b'.repeat(48)}!`,
      'aab',
      'bbbbbbbbbc',
      'push',
      'branch',
      'tag',
      'true',
      true,
      'https://broker.test',
      ['https://broker.test'],
      ['https://broker.test', 42],
      ['https://evil.test'],
      '',
    ),
  },
  { weight: 2, arbitrary: jsonValue },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1000, max: 3000 })
      .chain((n) =>
        fc.constantFrom(
          `refs/tags/v${'1'.repeat(n)}`,
          `acme/${'m'.repeat(n)}`,
          `acme/models/.github/workflows/release.yml@${'a/'.repeat(n)}`,
        ),
      ),
  },
);

const signerKind = fc.oneof(
  { weight: 10, arbitrary: fc.constant('issuer' as const) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'other-issuer' as const,
      'stranger-rs' as const,
      'stranger-es' as const,
      'none' as const,
      'hmac' as const,
      'garbage' as const,
    ),
  },
);

const headerEdit = fc.tuple(
  fc.constantFrom('alg', 'kid', 'typ', 'crit', 'jku', 'x5u', 'jwk', 'b64', 'zip', 'cty'),
  fc.oneof(
    fc.constantFrom<unknown>(
      'none',
      'HS256',
      'RS256',
      'ES256',
      'PS256',
      'EdDSA',
      'RS1',
      'NONE',
      '',
      null,
      ['exp'],
      ['b64'],
      false,
      'https://evil.test/jwks',
      'DEF',
    ),
    jsonValue,
  ),
);

export const ciCase = fc.record({
  provider: fc.constantFrom('github' as const, 'gitlab' as const),
  signer: signerKind,
  /** Which repository the token starts from: mostly acme/models, sometimes the ReDoS probe's (and its attack input). */
  // Rare on purpose: on a backtracking engine each attack costs seconds.
  redos: fc.oneof(
    { weight: 2000, arbitrary: fc.constant(false as const) },
    { weight: 60, arbitrary: fc.constant('benign' as const) },
    { weight: 1, arbitrary: fc.constantFrom('actor' as const, 'workflow' as const) },
  ),
  iss: fc.oneof(
    { weight: 12, arbitrary: fc.constant('own' as const) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('other' as const, 'missing' as const, 'slash' as const),
    },
  ),
  header: fc.oneof(
    { weight: 4, arbitrary: fc.constant([] as Array<[string, unknown]>) },
    { weight: 1, arbitrary: fc.array(headerEdit, { maxLength: 3 }) },
  ),
  claims: fc.oneof(
    { weight: 2, arbitrary: fc.constant([] as Array<[string, unknown]>) },
    { weight: 3, arbitrary: fc.array(fc.tuple(claimName, claimValue), { maxLength: 4 }) },
  ),
  expIn: fc.oneof(
    { weight: 8, arbitrary: fc.constant(300) },
    { weight: 1, arbitrary: fc.integer({ min: -400, max: 400 }) },
  ),
  iatIn: fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: -400, max: 400 }) },
  ),
  jti: fc.oneof(
    { weight: 12, arbitrary: fc.constant('fresh' as const) },
    { weight: 1, arbitrary: fc.constantFrom('replay' as const, 'missing' as const) },
  ),
  mutation: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: mutation },
  ),
  params: exchangeParams,
});
export type CiCase = typeof ciCase extends fc.Arbitrary<infer T> ? T : never;

function signerFor(world: World, c: CiCase): Signer {
  const other = c.provider === 'github' ? 'gitlab' : 'github';
  switch (c.signer) {
    case 'issuer':
      return { kind: 'key', key: world.signingKey(c.provider) };
    case 'other-issuer':
      return {
        kind: 'key',
        key: { ...world.signingKey(other), kid: world.signingKey(c.provider).kid },
      };
    case 'stranger-rs':
      return { kind: 'key', key: world.stranger.rs };
    case 'stranger-es':
      return { kind: 'key', key: world.stranger.es };
    case 'none':
      return { kind: 'none' };
    case 'hmac':
      return { kind: 'hmac', secret: world.issuerOf(c.provider).url };
    case 'garbage':
      return { kind: 'garbage', bytes: 256 };
  }
}

export async function runCi(world: World, stats: Stats, c: CiCase): Promise<void> {
  const now = world.nowSeconds();
  const issuer = world.issuerOf(c.provider);
  const replayable = () => {
    const used = [...world.usedJtis].find((j) => j.startsWith(`${c.provider}:`));
    return used ? used.slice(c.provider.length + 1) : randomUUID();
  };
  const key = world.signingKey(c.provider);
  const claims: Record<string, unknown> = {
    ...(c.provider === 'github' ? githubClaims() : gitlabClaims()),
    ...(c.redos
      ? {
          repository: 'acme/redos',
          actor: c.redos === 'actor' ? `${'a'.repeat(30)}!` : 'aab',
          workflow: c.redos === 'workflow' ? `${'b'.repeat(48)}!` : 'bbbbbbbbbc',
        }
      : {}),
    iss:
      c.iss === 'own'
        ? issuer.url
        : c.iss === 'slash'
          ? `${issuer.url}/`
          : c.iss === 'other'
            ? world.issuerOf(c.provider === 'github' ? 'gitlab' : 'github').url
            : undefined,
    iat: now + c.iatIn,
    nbf: now + c.iatIn - 5,
    exp: now + c.expIn,
    jti: c.jti === 'fresh' ? randomUUID() : c.jti === 'replay' ? replayable() : undefined,
  };
  for (const [k, v] of c.claims) {
    Object.defineProperty(claims, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const header: Record<string, unknown> = { typ: 'JWT', alg: key.alg, kid: key.kid };
  for (const [k, v] of c.header) header[k] = v;
  const canonical = await signJws(header, claims, signerFor(world, c));
  const token = c.mutation ? mutate(canonical, c.mutation as Mutation) : canonical;
  const body = JSON.parse(JSON.stringify(claims)) as Record<string, unknown>; // what the token carries

  const grants = matchedPolicies(c.provider, body);
  const why = [
    ...paramRefusals(
      c.params,
      grants.flatMap((g) => g.grant),
    ),
    ...tokenRefusals(),
  ];
  function tokenRefusals(): string[] {
    const r: string[] = [];
    if (token !== canonical) r.push('token altered after signing');
    if (token.length > 16 * 1024) r.push('token over 16 KiB');
    if (c.signer !== 'issuer') r.push(`signed by ${c.signer}`);
    if (c.params.tokenType === 'access_token') r.push('a CI token sent as a broker token');
    if (header.alg !== key.alg) r.push(`header alg ${JSON.stringify(header.alg)}`);
    if ('crit' in header) r.push('crit');
    if (header.kid !== undefined && header.kid !== key.kid) r.push('another kid');
    if (body.iss !== issuer.url) r.push('iss');
    const aud = body.aud;
    const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
    if (!auds || !auds.every((a) => typeof a === 'string') || !auds.includes('https://broker.test'))
      r.push('aud');
    const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    if (!num(body.exp) || (body.exp as number) <= now - 60) r.push('exp');
    if (!num(body.iat) || (body.iat as number) > now + 60) r.push('iat');
    if ('nbf' in body && (!num(body.nbf) || (body.nbf as number) > now + 60)) r.push('nbf');
    if (typeof body.sub !== 'string' || body.sub === '') r.push('sub');
    if (
      typeof body.jti !== 'string' ||
      body.jti === '' ||
      world.usedJtis.has(`${c.provider}:${body.jti}`)
    )
      r.push('jti missing or replayed');
    if (c.provider === 'github' && body.event_name === 'pull_request_target')
      r.push('pull_request_target');
    if (grants.length === 0) r.push('no policy matches');
    return r;
  }

  const describe = () =>
    `CI exchange ${JSON.stringify({ case: c, header, claims: body, token: token.length > 400 ? `${token.slice(0, 400)}...` : token })}`;
  const { headers, body: reqBody } = encodeBody(exchangeBody(c.params, token), c.params.encoding);
  const sent = await send(
    world,
    stats,
    c.params.path,
    { method: 'POST', headers, body: reqBody },
    describe,
  );
  if (sent.res.status !== 200) {
    const plain =
      c.signer === 'issuer' &&
      c.iss === 'own' &&
      c.header.length === 0 &&
      c.mutation === undefined &&
      c.params.extra.length === 0 &&
      (c.params.encoding === 'form' || c.params.encoding === 'json') &&
      c.params.resource === undefined &&
      (c.params.scope ?? '').split(/\s+/).every((w) => !w.includes('*'));
    if (why.length === 0 && plain) {
      fail(
        'valid-refused',
        `a valid CI token exchange was refused: ${sent.res.status} ${sent.body.slice(0, 300)} | ${describe()}`,
      );
    }
    return;
  }
  // SPEC 2: a claim over max_claim_length never matches. A broker that lets
  // one match grants what the oracle's policies do not: one fault, grouped so.
  const longClaim = Object.values(body).some((v) => typeof v === 'string' && v.length > 1024);
  let issued: ReturnType<typeof checkIssued>;
  try {
    if (why.length > 0) {
      fail(
        refusalKind(why),
        `a CI token exchange answered 200 although ${why.join('; ')} | ${describe()}`,
      );
    }
    issued = checkIssued(
      sent.body,
      c.params,
      grants.flatMap((g) => g.grant),
      3600,
      describe,
    );
    // The cap of every policy that granted a scope of the token applies.
    const caps = grants
      .filter((g) => issued.scopes.some((s) => plausiblyCovered(g.grant, s)))
      .map((g) => g.maxTtl ?? 3600);
    if (issued.expiresIn > Math.min(3600, ...caps)) {
      fail(
        'ttl-over-cap',
        `expires_in ${issued.expiresIn} over the policy cap ${Math.min(...caps)} | ${describe()}`,
      );
    }
    if (issued.sub !== `ci:${c.provider}:${String(body.sub)}`) {
      fail(
        'wrong-subject',
        `issued sub ${issued.sub} for CI sub ${String(body.sub)} | ${describe()}`,
      );
    }
  } catch (e) {
    if (longClaim && e instanceof Violation) fail('long-claim-matched', e.message);
    throw e;
  }
  world.usedJtis.add(`${c.provider}:${String(body.jti)}`);
  world.record({
    token: issued.token,
    jti: issued.jti,
    subject: issued.sub,
    scopes: issued.scopes,
    expiresAt: issued.exp,
    parent: undefined,
    revoked: false,
  });
}
