import type { JWTPayload } from 'jose';
import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import type { Provider } from '../config/compile.js';
import { formatDuration } from '../protocol/duration.js';
import { BrokerError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Metrics } from '../shared/metrics.js';
import { jwsAlgorithm, type JwsAlgorithm } from '../jws/algorithms.js';
import type { CryptoBackend } from '../jws/backend.js';
import { parseCompactJws, type ParsedJws } from '../jws/compact.js';
import { showJson } from '../shared/show.js';
import {
  numericDate,
  recordSteps,
  signatureVerifies,
  type CheckStep,
  type PassStep,
} from '../jws/verify.js';
import { ProviderKeys } from './provider-keys.js';
import type { SharedJwksCache } from './jwks-cache.js';

export const MAX_CI_TOKEN_BYTES = 16 * 1024;

export interface VerifiedCiToken {
  provider: Provider;
  claims: JWTPayload & { sub: string; iss: string };
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
    private readonly deps: {
      fetch: typeof fetch;
      clock: Clock;
      logger: Logger;
      crypto: CryptoBackend;
      /** A second level under each provider's in-memory keys, shared by instances (Workers). */
      jwksCache?: SharedJwksCache;
      /** Counts each provider's key fetches and their failures. */
      metrics?: Metrics;
    },
  ) {
    for (const p of providers) this.keys.set(p.name, new ProviderKeys(p, deps));
  }

  /** `steps`, when given, receives each check passed and the one that failed, named by its code. */
  verify(token: string, steps?: CheckStep[]): Promise<VerifiedCiToken> {
    return recordSteps(
      steps,
      (pass) => this.run(token, pass),
      (e) => (e instanceof BrokerError ? { check: e.code, detail: e.message } : undefined),
    );
  }

  private async run(token: string, step: PassStep): Promise<VerifiedCiToken> {
    if (token.length > MAX_CI_TOKEN_BYTES) {
      throw new BrokerError(
        'token_too_large',
        `CI token is larger than 16 KiB (${token.length} bytes): it is not an OIDC token`,
      );
    }
    let jws: ParsedJws;
    try {
      jws = parseCompactJws(token);
    } catch {
      throw new BrokerError(
        'token_invalid',
        "subject_token is not a JWT: send the CI provider's OIDC token itself",
      );
    }
    const { header, payload: claims } = jws;
    const alg = header.alg;
    // The table holds asymmetric algorithms only: never `none`, never an HMAC keyed by a public key.
    const spec = typeof alg === 'string' ? jwsAlgorithm(alg) : undefined;
    if (typeof alg !== 'string' || spec === undefined) {
      throw new BrokerError(
        'token_invalid',
        `CI token algorithm ${showJson(alg ?? null)} is not accepted: CI tokens must be signed with an asymmetric key (RS256, ES256, ...)`,
      );
    }
    if (header.crit !== undefined) {
      // RFC 7515 §4.1.11: a recipient must refuse extensions it does not understand, and we understand none.
      throw new BrokerError(
        'token_invalid',
        `CI token header marks ${showJson(header.crit)} as critical, which this broker does not implement: refused`,
      );
    }
    if (header.kid !== undefined && typeof header.kid !== 'string') {
      throw new BrokerError(
        'token_invalid',
        "CI token kid is not a string (RFC 7515 section 4.1.4): send the CI provider's OIDC token unchanged",
      );
    }
    step('algorithm', `${alg} is an accepted asymmetric algorithm`);
    const provider = this.providers.find((p) => p.issuer === claims.iss);
    if (!provider) {
      throw new BrokerError(
        'unknown_issuer',
        `CI token issuer ${showJson(claims.iss ?? null)} is not configured: add it under ci.providers, or send a token from a configured provider`,
      );
    }
    step('issuer', `${provider.issuer} is provider ${provider.name} (${provider.kind})`);

    await this.checkSignature(jws, alg, spec, provider);
    step(
      'signature',
      `signed by a key ${provider.name} publishes (kid ${showJson(header.kid ?? null)})`,
    );

    for (const claim of ['iss', 'aud', 'exp', 'iat', 'sub']) {
      if (claims[claim] === undefined) {
        throw new BrokerError(
          'token_invalid',
          `CI token has no ${claim} claim: send the CI provider's OIDC token unchanged`,
        );
      }
    }
    for (const claim of ['exp', 'iat', 'nbf']) {
      if (numericDate(claims, claim) === null) {
        throw new BrokerError(
          'token_invalid',
          `CI token claim ${claim} is not a number of seconds: send the CI provider's OIDC token unchanged`,
        );
      }
    }
    const exp = claims.exp as number;
    const iat = claims.iat as number;
    const nbf = claims.nbf as number | undefined;
    const now = nowSeconds(this.deps.clock);
    const leeway = provider.leewaySeconds;
    if (nbf !== undefined && nbf > now + leeway) {
      throw new BrokerError(
        'token_not_yet_valid',
        `CI token is not valid for another ${formatDuration(nbf - now)} by this server's clock: check the clocks of the broker and of ${provider.name}`,
      );
    }
    if (exp <= now - leeway) {
      throw new BrokerError(
        'token_expired',
        `CI token expired ${formatDuration(now - exp)} ago by this server's clock (leeway ${formatDuration(leeway)}): request a fresh one in the job`,
      );
    }
    if (iat > now + leeway) {
      throw new BrokerError(
        'token_not_yet_valid',
        `CI token was issued ${formatDuration(iat - now)} in the future by this server's clock: check the clocks of the broker and of ${provider.name}`,
      );
    }
    step(
      'lifetime',
      `valid now (expires in ${formatDuration(exp - now)}, leeway ${formatDuration(leeway)})`,
    );
    if (typeof claims.sub !== 'string' || claims.sub === '') {
      throw new BrokerError(
        'token_invalid',
        `CI token has no usable sub claim: send the CI provider's OIDC token unchanged`,
      );
    }
    checkAudience(provider, claims.aud);
    step('audience', `${showJson(claims.aud)} is accepted`);

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

  /** The signature must verify with a key the provider publishes for this algorithm. */
  private async checkSignature(
    jws: ParsedJws,
    alg: string,
    spec: JwsAlgorithm,
    provider: Provider,
  ): Promise<void> {
    const kid = jws.header.kid as string | undefined; // a string or absent, checked in run()
    const candidates = await this.keys.get(provider.name)!.keysFor({ alg, kid });
    if (kid === undefined && candidates.length > 1) {
      throw new BrokerError(
        'token_invalid',
        `CI token names no kid and ${provider.name} publishes several keys: refused`,
      );
    }
    if (await signatureVerifies(this.deps.crypto, jws, alg, spec, candidates)) return;
    throw new BrokerError(
      'token_invalid',
      `CI token signature does not verify with ${provider.name}'s published keys: it was altered, or not issued by ${provider.issuer}`,
    );
  }
}

function checkAudience(provider: Provider, aud: unknown): void {
  // RFC 7519 §4.1.3: a string or an array of strings. Anything else is refused
  // whole: skipping the odd members would let [ours, 42] pass strict_audience.
  const auds =
    typeof aud === 'string' ? [aud] : Array.isArray(aud) ? (aud as unknown[]) : undefined;
  if (!auds?.every((a) => typeof a === 'string')) {
    throw new BrokerError(
      'token_invalid',
      "CI token aud claim is not a string or a list of strings: send the CI provider's OIDC token unchanged",
    );
  }
  const want = provider.audiences.join(' or ');
  if (!auds.some((a) => provider.audiences.includes(a as string))) {
    throw new BrokerError(
      'audience_not_accepted',
      `CI token audience ${showJson(aud)} is not accepted by provider ${provider.name}: request the token with audience ${want}`,
    );
  }
  if (provider.strictAudience && auds.length !== 1) {
    throw new BrokerError(
      'audience_not_accepted',
      `CI token names ${auds.length} audiences but provider ${provider.name} requires exactly one (strict_audience): request it with audience ${want} alone`,
    );
  }
}
