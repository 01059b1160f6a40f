import { Hono } from 'hono';
import {
  SignJWT,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

/**
 * A real OIDC issuer, as GitHub Actions and GitLab run theirs: discovery document, JWKS over HTTP, RS256 (and ES256) keys. Tests
 * mint CI tokens with the claim sets those providers send, count JWKS
 * fetches, and rotate keys.
 */
export interface TestIssuer {
  url: string;
  /** JWKS requests served so far. */
  jwksFetches: number;
  discoveryFetches: number;
  /** Mints a GitHub Actions-shaped token; `claims` override or add claims (undefined removes one). */
  github(claims?: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /** Mints a GitLab CI-shaped token. */
  gitlab(claims?: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /** Mints a token with exactly these claims (plus iss unless given). */
  mint(claims: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /** Adds a new key (published in the JWKS) and signs with it from now on. */
  rotate(alg?: 'RS256' | 'ES256'): Promise<string>;
  /** The current signing key, for attack tests. */
  signingKey(): { kid: string; alg: string; privateKey: CryptoKey; publicJwk: JWK };
  /** Make the discovery document claim another issuer. */
  discoveryIssuer: string | undefined;
  /** Cache-Control header of the JWKS response. */
  jwksCacheControl: string;
  /** Answer JWKS requests with this status (e.g. 500) instead of the keys. */
  jwksFailure: number | undefined;
  /** Answer JWKS requests with this body instead of the keys. */
  jwksBody: unknown;
  close(): Promise<void>;
}

export interface MintOptions {
  /** Seconds since the epoch to use as "now" (the broker's injected clock). */
  now?: number;
  header?: Record<string, unknown>;
  /** Sign with this key instead of the issuer's. */
  key?: { kid?: string; alg: string; privateKey: CryptoKey };
  ttl?: number;
}

interface Key {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function makeKey(alg: 'RS256' | 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = crypto.randomUUID().replace(/-/g, '').toUpperCase();
  return {
    kid,
    alg,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
  };
}

/**
 * The issuer without a socket, at `url`: `fetch` answers its discovery and
 * JWKS requests, for a broker that is handed it as its fetch (tests inside
 * workerd). `startTestIssuer` (oidc-issuer.ts) serves the same on loopback.
 */
export async function createTestIssuer(
  options: { path?: string; url?: string } = {},
): Promise<TestIssuer & { fetch: typeof fetch; setUrl(url: string): void }> {
  const keys: Key[] = [await makeKey('RS256'), await makeKey('ES256')];
  let current = keys[0]!;
  const app = new Hono();
  const base = options.path ?? '';
  let issuerUrl = `${options.url ?? 'https://ci.test'}${base}`;

  const state = {
    jwksFetches: 0,
    discoveryFetches: 0,
    discoveryIssuer: undefined as string | undefined,
    jwksCacheControl: 'max-age=3600',
    jwksFailure: undefined as number | undefined,
    jwksBody: undefined as unknown,
  };

  app.get(`${base}/.well-known/openid-configuration`, (c) => {
    state.discoveryFetches++;
    return c.json({
      issuer: state.discoveryIssuer ?? issuerUrl,
      jwks_uri: `${issuerUrl}/.well-known/jwks`,
      subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    });
  });
  app.get(`${base}/.well-known/jwks`, (c) => {
    state.jwksFetches++;
    if (state.jwksFailure) return c.text('unavailable', state.jwksFailure as 500);
    c.header('Cache-Control', state.jwksCacheControl);
    return c.json((state.jwksBody as object) ?? { keys: keys.map((k) => k.publicJwk) });
  });

  async function mint(claims: Record<string, unknown>, o: MintOptions = {}): Promise<string> {
    const now = o.now ?? Math.floor(Date.now() / 1000);
    const key = o.key ?? current;
    const payload: JWTPayload = {
      iss: issuerUrl,
      iat: now,
      nbf: now - 5,
      exp: now + (o.ttl ?? 300),
      jti: crypto.randomUUID(),
      ...claims,
    };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    return new SignJWT(payload)
      .setProtectedHeader({
        typ: 'JWT',
        alg: key.alg,
        ...(key.kid ? { kid: key.kid } : {}),
        ...o.header,
      })
      .sign(key.privateKey);
  }

  const issuer = {
    get url() {
      return issuerUrl;
    },
    get jwksFetches() {
      return state.jwksFetches;
    },
    get discoveryFetches() {
      return state.discoveryFetches;
    },
    get discoveryIssuer() {
      return state.discoveryIssuer;
    },
    set discoveryIssuer(v) {
      state.discoveryIssuer = v;
    },
    get jwksCacheControl() {
      return state.jwksCacheControl;
    },
    set jwksCacheControl(v) {
      state.jwksCacheControl = v;
    },
    get jwksFailure() {
      return state.jwksFailure;
    },
    set jwksFailure(v) {
      state.jwksFailure = v;
    },
    get jwksBody() {
      return state.jwksBody;
    },
    set jwksBody(v) {
      state.jwksBody = v;
    },
    mint,
    github: (claims = {}, o = {}) => mint({ ...githubClaims(), ...claims }, o),
    gitlab: (claims = {}, o = {}) => mint({ ...gitlabClaims(), ...claims }, o),
    async rotate(alg: 'RS256' | 'ES256' = 'RS256') {
      const key = await makeKey(alg);
      keys.push(key);
      current = key;
      return key.kid;
    },
    signingKey: () => current,
    close: async () => {},
    fetch: (input: RequestInfo | URL, init?: RequestInit) =>
      Promise.resolve(app.request(input instanceof Request ? input : String(input), init)),
    setUrl(url: string) {
      issuerUrl = `${url}${base}`;
    },
  };
  return issuer;
}

/**
 * The claims GitHub Actions puts in a job's token (a push to main of
 * acme/models, job in the `production` environment). Every custom claim is a
 * string, ids and booleans included, as GitHub sends them.
 */
export function githubClaims(): Record<string, unknown> {
  return {
    aud: 'https://broker.test',
    sub: 'repo:acme/models:environment:production',
    ref: 'refs/heads/main',
    sha: '8b42ec0b6b973f5465ddc4e667cee9ba26aeabb5',
    repository: 'acme/models',
    repository_owner: 'acme',
    repository_owner_id: '1167635',
    run_id: '10988497055',
    run_number: '19',
    run_attempt: '1',
    repository_visibility: 'private',
    repository_id: '860122172',
    actor_id: '1167635',
    actor: 'alice',
    workflow: 'Release',
    head_ref: '',
    base_ref: '',
    event_name: 'push',
    ref_protected: 'true',
    ref_type: 'branch',
    workflow_ref: 'acme/models/.github/workflows/release.yml@refs/heads/main',
    workflow_sha: '8b42ec0b6b973f5465ddc4e667cee9ba26aeabb5',
    environment: 'production',
    environment_node_id: 'EN_kwDOM0RsPM7xAwGo',
    job_workflow_ref: 'acme/models/.github/workflows/release.yml@refs/heads/main',
    job_workflow_sha: '8b42ec0b6b973f5465ddc4e667cee9ba26aeabb5',
    runner_environment: 'github-hosted',
  };
}

/** The claims GitLab CI puts in an `id_tokens` token (strings, but `runner_id` and arrays). */
export function gitlabClaims(): Record<string, unknown> {
  return {
    aud: 'https://broker.test',
    sub: 'project_path:acme/models:ref_type:branch:ref:main',
    namespace_id: '84329880',
    namespace_path: 'acme',
    project_id: '56004559',
    project_path: 'acme/models',
    user_id: '20558032',
    user_login: 'alice',
    user_email: 'alice@example.com',
    user_access_level: 'maintainer',
    pipeline_id: '1391152406',
    pipeline_source: 'push',
    job_id: '7446098166',
    ref: 'main',
    ref_type: 'branch',
    ref_path: 'refs/heads/main',
    ref_protected: 'true',
    groups_direct: ['acme'],
    runner_id: 12270852,
    runner_environment: 'gitlab-hosted',
    sha: '9898863c7dcd844a6fc3c70191769b8d07567f57',
    project_visibility: 'private',
    ci_config_ref_uri: 'gitlab.com/acme/models//.gitlab-ci.yml@refs/heads/main',
    ci_config_sha: '9898863c7dcd844a6fc3c70191769b8d07567f57',
  };
}
