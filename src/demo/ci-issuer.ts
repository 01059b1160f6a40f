import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/*
 * The demo's CI OIDC issuer: GitHub Actions' claim set, signed RS256 by a key
 * made at start and published through discovery and a JWKS, so the broker
 * fetches and checks it as it does GitHub's.
 */

/** The project the demo's trust policy pins (config.ts), as GitHub names it. */
export const DEMO_REPOSITORY = 'acme/models';
export const DEMO_REPOSITORY_ID = '123456789';
const TOKEN_LIFETIME_S = 5 * 60;
/** Overrides a caller may send: a handful of claims, each a short value. */
const MAX_OVERRIDES = 32;
const MAX_CLAIM_LENGTH = 1024;

export type ClaimOverrides = Record<string, string | number | boolean | null>;

export class DemoCiIssuer {
  private constructor(
    readonly issuer: string,
    private readonly audience: string,
    private readonly key: { kid: string; privateKey: CryptoKey; publicJwk: JWK },
    private readonly now: () => number,
  ) {}

  static async create(
    issuer: string,
    audience: string,
    now: () => number = Date.now,
  ): Promise<DemoCiIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomBytes(8).toString('hex');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    return new DemoCiIssuer(issuer, audience, { kid, privateKey, publicJwk }, now);
  }

  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }

  /** The OpenID Provider metadata the broker reads first (fields as GitHub's). */
  discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: this.jwksUri,
      subject_types_supported: ['public'],
      response_types_supported: ['id_token'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    };
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.key.publicJwk] };
  }

  /**
   * A token from a push to main of acme/models, with `overrides` on top: a
   * claim set to null is left out. Returns why the overrides are refused
   * instead, for a 400.
   */
  async mint(overrides: unknown = {}): Promise<{ token: string } | { problem: string }> {
    const problem = overridesProblem(overrides);
    if (problem) return { problem };
    const now = Math.floor(this.now() / 1000);
    const ref = 'refs/heads/main';
    const workflowRef = `${DEMO_REPOSITORY}/.github/workflows/release.yml@${ref}`;
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.audience,
      sub: `repo:${DEMO_REPOSITORY}:ref:${ref}`,
      jti: randomUUID(),
      iat: now,
      nbf: now - 5,
      exp: now + TOKEN_LIFETIME_S,
      ref,
      ref_type: 'branch',
      ref_protected: 'true',
      sha: randomBytes(20).toString('hex'),
      repository: DEMO_REPOSITORY,
      repository_id: DEMO_REPOSITORY_ID,
      repository_owner: 'acme',
      repository_owner_id: '98765432',
      repository_visibility: 'private',
      run_id: String(randomInt(1_000_000_000, 9_000_000_000)),
      run_number: '1',
      run_attempt: '1',
      actor: 'ada',
      actor_id: '1001',
      workflow: 'release',
      workflow_ref: workflowRef,
      job_workflow_ref: workflowRef,
      event_name: 'push',
      runner_environment: 'github-hosted',
    };
    for (const [name, value] of Object.entries(overrides as ClaimOverrides)) {
      if (value === null) delete claims[name];
      else claims[name] = value;
    }
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: this.key.kid, typ: 'JWT' })
      .sign(this.key.privateKey);
    return { token };
  }
}

function overridesProblem(o: unknown): string | undefined {
  const example = 'e.g. {"ref": "refs/heads/feature/x"}';
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    return `send the claims to change as one JSON object, ${example}`;
  }
  const entries = Object.entries(o);
  if (entries.length > MAX_OVERRIDES) return `at most ${MAX_OVERRIDES} claims may be changed`;
  for (const [name, value] of entries) {
    const ok =
      value === null ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value.length <= MAX_CLAIM_LENGTH);
    if (!ok || name.length > 64) {
      return `claim ${JSON.stringify(name.slice(0, 64))}: expected a string (up to ${MAX_CLAIM_LENGTH} characters), a number, a boolean, or null to leave it out, ${example}`;
    }
  }
  return undefined;
}
