import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import { nowSeconds } from '../clock.js';
import type { Provider } from '../config/compile.js';
import { formatDuration } from '../config/duration.js';
import { BrokerError } from '../errors.js';
import type { Logger } from '../log.js';
import { ProviderKeys } from './provider-keys.js';

export const MAX_CI_TOKEN_BYTES = 16 * 1024;

/** Asymmetric algorithms only: never `none`, never an HMAC keyed by a public key. */
export const CI_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

export interface VerifiedCiToken {
  provider: Provider;
  claims: JWTPayload & { sub: string; iss: string };
}

/** One step of verification, for `tokenbroker explain`. */
export interface CheckStep {
  check: string;
  ok: boolean;
  detail: string;
}

/**
 * Verifies CI OIDC tokens against the configured providers: size, algorithm,
 * issuer, signature by a published key, audience, lifetime, required claims,
 * and the provider kind's own rules. Replay is the exchange's job (it needs
 * the store), done once every other check has passed.
 */
export class CiVerifier {
  private readonly keys = new Map<string, ProviderKeys>();

  constructor(
    private readonly providers: readonly Provider[],
    private readonly deps: { fetch: typeof fetch; clock: Clock; logger: Logger },
  ) {
    for (const p of providers) this.keys.set(p.name, new ProviderKeys(p, deps));
  }

  /** JWKS fetches so far, all providers together. */
  get jwksFetches(): number {
    let n = 0;
    for (const k of this.keys.values()) n += k.fetches;
    return n;
  }

  async verify(token: string, steps?: CheckStep[]): Promise<VerifiedCiToken> {
    const step = (check: string, detail: string) => steps?.push({ check, ok: true, detail });
    try {
      return await this.run(token, step);
    } catch (e) {
      if (e instanceof BrokerError) steps?.push({ check: e.code, ok: false, detail: e.message });
      throw e;
    }
  }

  private async run(
    token: string,
    step: (check: string, detail: string) => void,
  ): Promise<VerifiedCiToken> {
    if (token.length > MAX_CI_TOKEN_BYTES) {
      throw new BrokerError(
        'token_too_large',
        `CI token is larger than 16 KiB (${token.length} bytes): it is not an OIDC token`,
      );
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new BrokerError(
        'token_invalid',
        "subject_token is not a JWT: send the CI provider's OIDC token itself",
      );
    }
    if (typeof header.alg !== 'string' || !CI_ALGORITHMS.includes(header.alg)) {
      throw new BrokerError(
        'token_invalid',
        `CI token algorithm ${JSON.stringify(header.alg ?? null)} is not accepted: CI tokens must be signed with an asymmetric key (RS256, ES256, ...)`,
      );
    }
    step('algorithm', `${header.alg} is an accepted asymmetric algorithm`);
    const provider = this.providers.find((p) => p.issuer === unverified.iss);
    if (!provider) {
      throw new BrokerError(
        'unknown_issuer',
        `CI token issuer ${JSON.stringify(unverified.iss ?? null)} is not configured: add it under ci.providers, or send a token from a configured provider`,
      );
    }
    step('issuer', `${provider.issuer} is provider ${provider.name} (${provider.kind})`);

    const now = nowSeconds(this.deps.clock);
    const leeway = provider.leewaySeconds;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.keys.get(provider.name)!.getKey, {
        issuer: provider.issuer,
        algorithms: CI_ALGORITHMS,
        currentDate: new Date(this.deps.clock.now()),
        clockTolerance: leeway,
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub'],
      }));
    } catch (e) {
      throw describe(e, provider, now, leeway);
    }
    step(
      'signature',
      `signed by a key ${provider.name} publishes (kid ${JSON.stringify(header.kid ?? null)})`,
    );
    step(
      'lifetime',
      `valid now (expires in ${formatDuration(claims.exp! - now)}, leeway ${formatDuration(leeway)})`,
    );

    if (claims.iat! > now + leeway) {
      throw new BrokerError(
        'token_not_yet_valid',
        `CI token was issued ${formatDuration(claims.iat! - now)} in the future by this server's clock: check the clocks of the broker and of ${provider.name}`,
      );
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') {
      throw new BrokerError(
        'token_invalid',
        `CI token has no usable sub claim: send the CI provider's OIDC token unchanged`,
      );
    }
    checkAudience(provider, claims.aud);
    step('audience', `${JSON.stringify(claims.aud)} is accepted`);

    if (claims.jti !== undefined && (typeof claims.jti !== 'string' || claims.jti === '')) {
      throw new BrokerError(
        'token_invalid',
        'CI token jti is not a non-empty string: such a token cannot be guarded against replay, so it is refused',
      );
    }
    if (claims.jti === undefined && !provider.allowMissingJti) {
      throw new BrokerError(
        'token_invalid',
        `CI token has no jti, so a replay could not be detected: refused (set allow_missing_jti on provider ${provider.name} only if it never sends one)`,
      );
    }
    if (
      provider.kind === 'github' &&
      claims.event_name === 'pull_request_target' &&
      !provider.allowPullRequestTarget
    ) {
      throw new BrokerError(
        'token_invalid',
        `CI tokens from pull_request_target workflows are refused: they run with this repository's privileges on behalf of forks (set allow_pull_request_target on provider ${provider.name} if you really need it)`,
      );
    }
    step(
      'claims',
      provider.kind === 'github' ? 'jti present; not a pull_request_target run' : 'jti present',
    );
    return { provider, claims: claims as VerifiedCiToken['claims'] };
  }
}

function checkAudience(provider: Provider, aud: unknown): void {
  const auds =
    typeof aud === 'string'
      ? [aud]
      : Array.isArray(aud)
        ? aud.filter((a) => typeof a === 'string')
        : [];
  const want = provider.audiences.join(' or ');
  if (!auds.some((a) => provider.audiences.includes(a))) {
    throw new BrokerError(
      'audience_not_accepted',
      `CI token audience ${JSON.stringify(aud)} is not accepted by provider ${provider.name}: request the token with audience ${want}`,
    );
  }
  if (provider.strictAudience && auds.length !== 1) {
    throw new BrokerError(
      'audience_not_accepted',
      `CI token names ${auds.length} audiences but provider ${provider.name} requires exactly one (strict_audience): request it with audience ${want} alone`,
    );
  }
}

function describe(e: unknown, provider: Provider, now: number, leeway: number): BrokerError {
  if (e instanceof BrokerError) return e;
  if (e instanceof errors.JWTExpired) {
    const exp = Number((e.payload as JWTPayload).exp);
    return new BrokerError(
      'token_expired',
      `CI token expired ${formatDuration(now - exp)} ago by this server's clock (leeway ${formatDuration(leeway)}): request a fresh one in the job`,
    );
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    const payload = e.payload as JWTPayload;
    if (e.claim === 'nbf' && typeof payload.nbf === 'number') {
      return new BrokerError(
        'token_not_yet_valid',
        `CI token is not valid for another ${formatDuration(payload.nbf - now)} by this server's clock: check the clocks of the broker and of ${provider.name}`,
      );
    }
    if (e.reason === 'missing')
      return new BrokerError(
        'token_invalid',
        `CI token has no ${e.claim} claim: send the CI provider's OIDC token unchanged`,
      );
    return new BrokerError(
      'token_invalid',
      `CI token claim ${e.claim} is not acceptable (${e.reason}): request a fresh token in the job`,
    );
  }
  if (e instanceof errors.JOSEAlgNotAllowed) {
    return new BrokerError(
      'token_invalid',
      'CI token algorithm is not accepted: CI tokens must be signed with an asymmetric key',
    );
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) {
    return new BrokerError(
      'token_invalid',
      `CI token signature does not verify with ${provider.name}'s published keys: it was altered, or not issued by ${provider.issuer}`,
    );
  }
  if (e instanceof errors.JWKSMultipleMatchingKeys) {
    return new BrokerError(
      'token_invalid',
      `CI token names no kid and ${provider.name} publishes several keys: refused`,
    );
  }
  const code = e instanceof errors.JOSEError ? ` (${e.code})` : '';
  return new BrokerError(
    'token_invalid',
    `CI token is not a valid signed JWT${code}: send the CI provider's OIDC token unchanged`,
  );
}
