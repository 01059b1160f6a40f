import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import { BrokerError } from '../shared/errors.js';
import type { AuditEvent, IssuedToken, OneTime, Store, TokenSource } from '../store/types.js';
import { checkScopes } from '../protocol/scope.js';
import { randomId } from '../shared/crypto.js';
import { MAX_TOKEN_BYTES } from './verify.js';
import { webCryptoBackend, type CryptoBackend } from '../jws/backend.js';
import type { SigningKeys } from './keys.js';

export interface MintRequest {
  subject: string;
  scopes: string[];
  ttlSeconds: number;
  clientId: string;
  source: TokenSource;
  parentJti?: string | undefined;
  /** Extra claims, e.g. `ci: {provider, repository, ...}`. */
  claims?: Record<string, unknown> | undefined;
  /**
   * A one-time value to consume with the issue, atomically (a CI token's
   * jti, an approved device code): if it was already used, nothing is issued
   * and the outcome says so.
   */
  once?: OneTime | undefined;
  /** Fields of the audit row that the caller knows (policy, client address...). */
  audit: Omit<
    AuditEvent,
    'time' | 'event' | 'outcome' | 'subject' | 'scopes' | 'tokenSha256' | 'jti'
  >;
}

export interface MintedToken {
  token: string;
  jti: string;
  expiresIn: number;
  expiresAt: number;
  scopes: string[];
}

/**
 * What came of a mint that the store refused to record, as data: the caller
 * knows what it means for its grant and says so in its own words.
 * - `replayed`: the one-time value was already consumed;
 * - `parent_revoked`: the token it narrows was revoked in the meantime.
 */
export type MintOutcome =
  | { issued: MintedToken; refused?: undefined }
  | { issued?: undefined; refused: 'replayed' | 'parent_revoked' };

/**
 * Signs RFC 9068 access tokens. A token leaves this function only after its
 * row and its audit row are committed: if the write fails, the caller gets an
 * error and the signed token is thrown away.
 *
 * Every token passes here, so this is also the last check that a token is one
 * the broker accepts back: scopes in the grammar and within the limits, and
 * the token within the 16 KiB that /introspect and /revoke read.
 */
export class Minter {
  constructor(
    private readonly deps: {
      store: Store;
      keys: SigningKeys;
      clock: Clock;
      issuer: string;
      audience: string;
      crypto?: CryptoBackend;
    },
  ) {}

  async mint(req: MintRequest): Promise<MintOutcome> {
    const { store, keys, clock, issuer, audience } = this.deps;
    const signer = this.deps.crypto ?? webCryptoBackend;
    if (req.scopes.length === 0) {
      throw new BrokerError('invalid_scope', 'a token must carry a scope: ask for one with scope');
    }
    checkScopes(req.scopes);
    const key = await keys.signingKey();
    const now = nowSeconds(clock);
    const exp = now + req.ttlSeconds;
    const jti = randomId();
    const { token, sha256: tokenSha256 } = await signer.sign(
      { alg: key.alg, kid: key.kid, typ: 'at+jwt' },
      {
        ...req.claims,
        scope: req.scopes.join(' '),
        client_id: req.clientId,
        iss: issuer,
        sub: req.subject,
        aud: audience,
        iat: now,
        nbf: now,
        exp,
        jti,
      },
      key,
    );
    if (token.length > MAX_TOKEN_BYTES) {
      throw new BrokerError(
        'invalid_request',
        `the token would take ${token.length} bytes, more than the 16 KiB this broker accepts back: ask for fewer or shorter scopes (if one scope is already too many, the CI token's claims are too long: the operator can lower limits.max_claim_length)`,
        { detail: { token_bytes: token.length } },
      );
    }
    const row: IssuedToken = {
      jti,
      subject: req.subject,
      scopes: req.scopes,
      audience,
      clientId: req.clientId,
      source: req.source,
      kid: key.kid,
      parentJti: req.parentJti ?? null,
      issuedAt: now,
      expiresAt: exp,
      revokedAt: null,
      tokenSha256,
    };
    const recorded = await store.recordIssue(
      row,
      {
        ...req.audit,
        time: now,
        event: 'token.issued',
        outcome: 'success',
        subject: req.subject,
        scopes: req.scopes,
        tokenSha256,
        jti,
      },
      req.once,
    );
    if (recorded !== 'issued') return { refused: recorded };
    return {
      issued: { token, jti, expiresIn: req.ttlSeconds, expiresAt: exp, scopes: req.scopes },
    };
  }
}
