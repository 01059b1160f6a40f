import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export const BROKER = 'https://broker.test';
export const CI_ISSUER = 'https://ci.example';
export const HUB_SECRET = 'hub-secret-for-workerd-tests';

/**
 * The remote CI identity provider, inside workerd: its key pair is real and
 * its tokens are signed by it, and `fetch` serves its JWKS as the provider's
 * server would (the broker reaches it only through that fetch). Counts JWKS
 * requests so tests can see refetch limits.
 */
export async function ciIssuer(url = CI_ISSUER) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'ci-key-1';
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const state = { jwksFetches: 0 };
  const fetchJwks = async (input: RequestInfo | URL): Promise<Response> => {
    const requested = input instanceof Request ? input.url : String(input);
    if (requested !== `${url}/jwks`) return new Response('not found', { status: 404 });
    state.jwksFetches++;
    return Response.json({ keys: [jwk] }, { headers: { 'Cache-Control': 'max-age=3600' } });
  };
  return {
    url,
    fetch: fetchJwks as typeof fetch,
    get jwksFetches() {
      return state.jwksFetches;
    },
    /** A GitHub Actions-shaped token for acme/models on main, at `now` (Unix seconds). */
    mint(now: number, header: { kid?: string } = {}): Promise<string> {
      // The header may name a kid the provider does not publish (a rotation the broker has not seen).
      return new SignJWT({
        iss: url,
        aud: BROKER,
        sub: 'repo:acme/models:ref:refs/heads/main',
        repository: 'acme/models',
        repository_id: '123456789',
        ref: 'refs/heads/main',
        event_name: 'push',
        jti: crypto.randomUUID(),
        iat: now,
        nbf: now - 5,
        exp: now + 300,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: header.kid ?? kid })
        .sign(privateKey);
    },
  };
}

/** The broker's config for these tests, as the TOKENBROKER_CONFIG var holds it (JSON is YAML). */
export function brokerConfig(extra: Record<string, unknown> = {}, issuer = CI_ISSUER): string {
  return JSON.stringify({
    issuer: BROKER,
    tokens: { audience: 'https://hub.test' },
    resource_servers: [{ client_id: 'hub', client_secret_sha256: '${HUB_SECRET_SHA256}' }],
    ci: {
      providers: [
        {
          name: 'github',
          issuer,
          kind: 'github',
          jwks_uri: `${issuer}/jwks`,
          audiences: [BROKER],
        },
      ],
      policies: [
        {
          name: 'acme-models',
          provider: 'github',
          match: { repository: 'acme/models', ref: 'refs/heads/main' },
          grant: ['write:models/acme/*'],
        },
      ],
    },
    ...extra,
  });
}

export async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A private JWK as `wrangler secret put SIGNING_KEY` would hold it. */
export async function privateJwk(alg: 'ES256' | 'EdDSA', kid?: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  return { ...(await exportJWK(privateKey)), ...(kid ? { kid } : {}) };
}

export const exchangeForm = (token: string, scope = 'write:models/acme/x'): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: token,
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    scope,
  }).toString(),
});
