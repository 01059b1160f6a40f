import type { Clock } from '../clock.js';
import type { Config } from '../config/compile.js';
import type { CryptoBackend } from '../jws/backend.js';
import type { Store } from '../store/types.js';
import type { KeyRing } from '../tokens/keys.js';
import type { Minter } from '../tokens/mint.js';
import type { CiVerifier } from '../oidc/verify.js';
import type { RateLimits } from '../rate-limit/limits.js';

/** Who is asking, for the audit row. */
export interface RequestInfo {
  clientAddress: string | null;
  userAgent: string | null;
}

export interface ExchangeContext {
  config: Config;
  store: Store;
  keys: KeyRing;
  clock: Clock;
  /** Checks the signature of a token of ours being narrowed. */
  crypto: CryptoBackend;
  minter: Minter;
  ci: CiVerifier;
  rateLimits: RateLimits | undefined;
  request: RequestInfo;
  /** What the handler learnt before a refusal, so the denial's audit row can say it. */
  auditFields: {
    subject?: string;
    source?: string;
    policy?: string;
    detail?: Record<string, unknown>;
  };
}
