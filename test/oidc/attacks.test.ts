import { Hono } from 'hono';
import {
  SignJWT,
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type CryptoKey,
} from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webCryptoBackend } from '../../src/jws/backend.js';
import { nodeCrypto } from '../../src/node/crypto.js';
import { startCi, type CiSetup } from '../helpers/ci.js';
import { listen } from '../helpers/listen.js';
import { githubClaims } from '../helpers/oidc-issuer.js';

let ci: CiSetup;
afterEach(() => ci.close());

const now = () => Math.floor(ci.broker.clock.now() / 1000);

async function refused(res: Response, error: string, description: string | RegExp) {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(body.error).toBe(error);
  if (typeof description === 'string') expect(body.error_description).toBe(description);
  else expect(body.error_description).toMatch(description);
  expect(await ci.broker.store.listTokens({})).toEqual([]); // nothing issued
}

function unsigned(header: object, payload: object): string {
  const enc = (o: object) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.`;
}

// The production Node entry checks signatures with node:crypto, Workers with
// WebCrypto: every attack runs against both.
describe.each([
  ['node:crypto', nodeCrypto()],
  ['WebCrypto', webCryptoBackend],
] as const)('attacks on the CI token exchange, signatures checked by %s', (_name, backend) => {
  beforeEach(async () => {
    ci = await startCi({ crypto: backend });
  });

  it('refuses alg none', async () => {
    const payload = {
      iss: ci.github.url,
      aud: 'https://broker.test',
      sub: 'repo:acme/models:ref:refs/heads/main',
      repository: 'acme/models',
      exp: now() + 300,
      iat: now(),
      jti: 'x',
    };
    await refused(
      await ci.exchange(unsigned({ alg: 'none', typ: 'JWT' }, payload)),
      'invalid_grant',
      'CI token algorithm "none" is not accepted: CI tokens must be signed with an asymmetric key (RS256, ES256, ...)',
    );
  });

  it('refuses HS256 signed with the provider’s RSA public key as the secret', async () => {
    const { publicJwk } = ci.github.signingKey();
    const pem = await exportSPKI(
      (await importJWK(publicJwk, 'RS256', { extractable: true })) as CryptoKey,
    );
    for (const secret of [pem, JSON.stringify(publicJwk), publicJwk.n!]) {
      const token = await new SignJWT({ repository: 'acme/models', jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: 'HS256', kid: ci.github.signingKey().kid })
        .setIssuer(ci.github.url)
        .setAudience('https://broker.test')
        .setSubject('repo:acme/models:ref:refs/heads/main')
        .setIssuedAt(now())
        .setExpirationTime(now() + 300)
        .sign(new TextEncoder().encode(secret));
      await refused(
        await ci.exchange(token),
        'invalid_grant',
        /^CI token algorithm "HS256" is not accepted/,
      );
    }
  });

  it('refuses a token signed by another key that reuses a published kid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await ci.github.github(
      {},
      { key: { kid: ci.github.signingKey().kid, alg: 'RS256', privateKey } },
    );
    await refused(
      await ci.exchange(token),
      'invalid_grant',
      `CI token signature does not verify with github's published keys: it was altered, or not issued by ${ci.github.url}`,
    );
  });

  it('refuses a token whose kid the provider does not publish', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await ci.github.github(
      {},
      { key: { kid: 'attacker-kid', alg: 'RS256', privateKey } },
    );
    await refused(
      await ci.exchange(token),
      'invalid_grant',
      `CI token is signed by a key that github does not publish (kid "attacker-kid"): it was not issued by ${ci.github.url}`,
    );
  });

  it.each(['jwk', 'jku', 'x5u'])(
    'ignores a %s header that points at the attacker’s key',
    async (param) => {
      const { privateKey, publicKey } = await generateKeyPair('RS256');
      const attackerJwk = { ...(await exportJWK(publicKey)), kid: 'evil', alg: 'RS256' };
      let attackerHits = 0;
      const attacker = new Hono().all('*', (c) => {
        attackerHits++;
        return c.json({ keys: [attackerJwk] });
      });
      const server = await listen(attacker.fetch);
      try {
        const header = param === 'jwk' ? { jwk: attackerJwk } : { [param]: `${server.url}/jwks` };
        const token = await ci.github.github(
          {},
          { key: { kid: 'evil', alg: 'RS256', privateKey }, header },
        );
        await refused(
          await ci.exchange(token),
          'invalid_grant',
          /^CI token is signed by a key that github does not publish/,
        );
        expect(attackerHits).toBe(0);
      } finally {
        await server.close();
      }
    },
  );

  it('refuses an expired token, saying by how much', async () => {
    const token = await ci.github.github({}, { now: now() - 1000, ttl: 300 });
    await refused(
      await ci.exchange(token),
      'invalid_grant',
      "CI token expired 11m40s ago by this server's clock (leeway 1m): request a fresh one in the job",
    );
  });

  it('refuses a token whose nbf is in the future', async () => {
    const token = await ci.github.github({ nbf: now() + 600 });
    await refused(
      await ci.exchange(token),
      'invalid_grant',
      "CI token is not valid for another 10m by this server's clock: check the clocks of the broker and of github",
    );
  });

  it('refuses a token issued far in the future', async () => {
    const token = await ci.github.github({ iat: now() + 3600, nbf: undefined }, { ttl: 7200 });
    await refused(
      await ci.exchange(token),
      'invalid_grant',
      "CI token was issued 1h in the future by this server's clock: check the clocks of the broker and of github",
    );
  });

  it('tolerates clock differences within the leeway', async () => {
    const token = await ci.github.github({ iat: now() + 30, nbf: now() + 30 });
    expect((await ci.exchange(token)).status).toBe(200);
  });

  it('refuses a wrong audience', async () => {
    await refused(
      await ci.exchange(await ci.github.github({ aud: 'https://github.com/acme' })),
      'invalid_grant',
      'CI token audience "https://github.com/acme" is not accepted by provider github: request the token with audience https://broker.test',
    );
  });

  it('refuses an audience list with the right audience when the provider is strict', async () => {
    const aud = ['https://broker.test', 'https://other.example'];
    expect((await ci.exchange(await ci.github.github({ aud }))).status).toBe(200);
    await ci.close();
    ci = await startCi({ crypto: backend, providers: { github: { strict_audience: true } } });
    await refused(
      await ci.exchange(await ci.github.github({ aud })),
      'invalid_grant',
      'CI token names 2 audiences but provider github requires exactly one (strict_audience): request it with audience https://broker.test alone',
    );
  });

  it('refuses an issuer that is not configured', async () => {
    await refused(
      await ci.exchange(
        await ci.github.github({ iss: 'https://token.actions.githubusercontent.com.evil.com' }),
      ),
      'invalid_grant',
      'CI token issuer "https://token.actions.githubusercontent.com.evil.com" is not configured: add it under ci.providers, or send a token from a configured provider',
    );
  });

  it('refuses a token signed by provider A that claims provider B as issuer', async () => {
    // gitlab's key, github's issuer: the signature check uses github's keys.
    const token = await ci.gitlab.mint({ ...githubClaims(), iss: ci.github.url });
    await refused(
      await ci.exchange(token),
      'invalid_grant',
      /^CI token is signed by a key that github does not publish/,
    );
  });

  it('refuses tokens of an issuer whose discovery document claims another issuer', async () => {
    ci.github.discoveryIssuer = 'https://evil.example';
    await refused(
      await ci.exchange(await ci.github.github()),
      'invalid_grant',
      `the discovery document of CI provider github names issuer "https://evil.example", not ${ci.github.url}: its tokens are refused until the operator fixes ci.providers`,
    );
    expect(ci.github.jwksFetches).toBe(0);
  });

  it('gives exactly one success to 20 concurrent submissions of the same token', async () => {
    const token = await ci.github.github();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => ci.exchange(token).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(19);
    expect(await ci.broker.store.listTokens({})).toHaveLength(1);
  });

  it('refuses a token without jti unless the provider allows it', async () => {
    await refused(
      await ci.exchange(await ci.github.github({ jti: undefined })),
      'invalid_grant',
      'CI token has no jti, so a replay could not be detected: refused (set allow_missing_jti on provider github only if it never sends one)',
    );
  });

  it.each([{ a: 1 }, 42, ''])('refuses a jti that is not a non-empty string: %j', async (jti) => {
    await refused(
      await ci.exchange(await ci.github.github({ jti })),
      'invalid_grant',
      'CI token jti is not a non-empty string: such a token cannot be guarded against replay, so it is refused',
    );
  });

  it('refuses a token over 16 KiB before parsing it', async () => {
    const token = await ci.github.github({ padding: 'x'.repeat(17 * 1024) });
    await refused(
      await ci.exchange(token),
      'invalid_grant',
      /^CI token is larger than 16 KiB \(\d+ bytes\): it is not an OIDC token$/,
    );
  });

  it.each(['garbage', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.e30', '....', '%00'])(
    'refuses the garbage token %j',
    async (token) => {
      await refused(
        await ci.exchange(token),
        'invalid_grant',
        /^(subject_token is not a JWT|CI token)/,
      );
    },
  );

  it('refuses a token without sub', async () => {
    await refused(
      await ci.exchange(await ci.github.github({ sub: undefined })),
      'invalid_grant',
      "CI token has no sub claim: send the CI provider's OIDC token unchanged",
    );
  });

  it.each([
    ['repository as a list', { repository: ['acme/models'] }],
    ['repository as an object', { repository: { toString: 'acme/models' } }],
    ['repository_id as a number', { repository_id: 860122172 }],
    ['ref as a list of both refs', { ref: ['refs/heads/main', 'refs/heads/evil'] }],
  ])('does not match a policy through claim type confusion: %s', async (_name, claims) => {
    // Only models-release would grant write: check the token gets no write scope.
    const res = await ci.exchange(await ci.github.github(claims), {
      scope: 'write:models/acme/bert',
    });
    const body = await res.json();
    expect(res.status).toBe(400);
    expect(['invalid_scope', 'invalid_grant']).toContain(body.error);
  });

  it('compares boolean claims as "true"/"false", the way GitHub sends them', async () => {
    const res = await ci.exchange(await ci.gitlab.gitlab({ ref_protected: true }));
    expect(res.status).toBe(200);
    const refusedRes = await ci.exchange(await ci.gitlab.gitlab({ ref_protected: 'false' }));
    expect(refusedRes.status).toBe(400);
  });

  it('does not give a look-alike repository acme/models-evil what the exact pin acme/models grants', async () => {
    const res = await ci.exchange(await ci.github.github({ repository: 'acme/models-evil' }));
    // Only the owner-wide acme/* policy matches: read, never the release policy's write.
    expect((await res.json()).scope).toBe('read:models/acme/**');
  });

  it.each([
    ['acme-evil/models', 'another owner against the acme/* glob'],
    ['evil/acme/models', 'a nested path'],
    ['ACME/models', 'another case'],
  ])('does not match %s (%s)', async (repository) => {
    const res = await ci.exchange(await ci.github.github({ repository, repository_id: '1' }));
    await refused(
      res,
      'invalid_grant',
      new RegExp(`^no trust policy matched: provider github, repository ${repository}, `),
    );
  });

  it('refuses pull_request_target runs unless the provider allows them', async () => {
    const token = await ci.github.github({ event_name: 'pull_request_target' });
    await refused(
      await ci.exchange(token),
      'invalid_grant',
      "CI tokens from pull_request_target workflows are refused: they run with this repository's privileges on behalf of forks (set allow_pull_request_target on provider github if you really need it)",
    );
    await ci.close();
    ci = await startCi({
      crypto: backend,
      providers: { github: { allow_pull_request_target: true } },
    });
    expect(
      (await ci.exchange(await ci.github.github({ event_name: 'pull_request_target' }))).status,
    ).toBe(200);
  });

  it('matches the immutable GitHub sub form only when the policy pins it', async () => {
    await ci.close();
    ci = await startCi({
      crypto: backend,
      policies: [
        {
          name: 'by-sub',
          provider: 'github',
          match: { sub: 'repo:acme@1167635/models@860122172:ref:refs/heads/main' },
          grant: ['read:models/acme/*'],
        },
      ],
    });
    const sub = 'repo:acme@1167635/models@860122172:ref:refs/heads/main';
    expect((await ci.exchange(await ci.github.github({ sub }))).status).toBe(200);
    // A re-registered acme/models has other ids: the old-form name alone no longer matches.
    const res = await ci.exchange(
      await ci.github.github({ sub: 'repo:acme@999/models@888:ref:refs/heads/main' }),
    );
    expect(res.status).toBe(400);
  });
});
