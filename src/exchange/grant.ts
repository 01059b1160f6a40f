import type { Clock } from '../shared/clock.js';
import type { Config } from '../config/compile.js';
import type { Trust } from '../policy/compile.js';
import type { CiVerifier } from '../oidc/verify.js';
import type { GrantSet } from '../policy/grants.js';
import type { OneTime, Store, TokenSource } from '../store/types.js';
import type { CryptoBackend } from '../jws/backend.js';
import type { SigningKeys } from '../tokens/keys.js';
import type { BrokerError } from '../shared/errors.js';

/** What the exchange and its grants work with. */
export interface GrantDeps {
  config: Config;
  /** The config's trust policies and roles, compiled. */
  trust: Trust;
  store: Store;
  keys: SigningKeys;
  clock: Clock;
  ci: CiVerifier;
  crypto: CryptoBackend;
}

/** What a caller asked for, read and checked for shape. */
export interface Asked {
  scopes: string[] | undefined;
  resource: string | undefined;
  ttlSeconds: number | undefined;
}

/** Every grant's input: what is asked, and the credential presented, if any. */
export interface GrantInput {
  asked: Asked;
  /**
   * The token presented as proof (RFC 8693 subject_token): the audit row keeps
   * its SHA-256. A person's page has none: the session proved the person.
   */
  subjectToken?: string;
}

/** Who asked, proved, and what their token carries besides scopes. */
export interface Verified {
  subject: string;
  clientId: string;
  /** The configured CI provider that vouched for the subject, for the metrics' label. */
  provider?: string;
  /** For the audit row of the issue or the refusal. */
  detail?: Record<string, unknown>;
  /** Claims of the new token besides the registered ones and `scope` (e.g. `ci`). */
  tokenClaims?: Record<string, unknown>;
  /** The token this one narrows: revoking it revokes this one. */
  parentJti?: string;
  /** Consumed with the issue, once (a CI token's jti, an approved device code). */
  once?: OneTime;
  /**
   * What the proof itself asks for, when it carries its own request (a device
   * code, approved for given scopes and lifetime): it takes the place of the
   * request's parameters.
   */
  asked?: Asked;
}

/**
 * One way to get a token. The exchange runs every grant the same way: verify
 * the subject, rate-limit it, ask the grant what it may be given, decide the
 * scopes and lifetime, mint, record the outcome. A grant only says how its
 * subject is proved and what that subject is entitled to.
 */
export interface Grant<In extends GrantInput = GrantInput, V extends Verified = Verified> {
  /** The token's and the audit row's `source`. */
  readonly source: TokenSource;
  /**
   * What its entitlements are: trust policies or roles, named in the audit
   * row's `policy`, or the token being narrowed, which names none.
   */
  readonly names: 'policies' | 'parent';
  /** Who reads its refusals: a person on a page, or the operator of a pipeline (the default). */
  readonly reader?: 'operator' | 'person';
  /** Proves who asks. A refusal here is recorded with no subject: nothing was proved. */
  verify(input: In, deps: GrantDeps): Promise<V>;
  /**
   * What the verified subject may be given, each set with its own lifetime
   * cap; throws the refusal (with its private detail) when nothing.
   */
  entitle(verified: V, deps: GrantDeps): GrantSet[];
  /** The refusal when the store says the grant's one-time value was used already. */
  replayed?(): BrokerError;
}
