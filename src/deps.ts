import type { Context } from 'hono';
import type { Clock } from './shared/clock.js';
import type { Config, Saml, Sso } from './config/compile.js';
import type { Trust } from './policy/compile.js';
import type { CryptoBackend } from './jws/backend.js';
import type { Logger } from './shared/log.js';
import type { Metrics } from './shared/metrics.js';
import type { CiVerifier } from './oidc/verify.js';
import type { SharedJwksCache } from './oidc/jwks-cache.js';
import type { RateLimiterFactory } from './rate-limit/limiter.js';
import type { RateLimits } from './rate-limit/limits.js';
import type { LoginBinding } from './saml/login-binding.js';
import type { ServiceProvider } from './saml/sp.js';
import type { Sessions } from './sessions/sessions.js';
import type { Store } from './store/types.js';
import type { SigningKeys } from './tokens/keys.js';
import type { Minter } from './tokens/mint.js';
import type { Exchange } from './exchange/exchange.js';
import type { DeviceFlow } from './exchange/device-flow.js';

/*
 * What the core is given and what its routes share, apart from createApp
 * itself, so that a route imports these types and never the app that mounts it.
 */

/** What the runtime entry point (Node or Workers) hands the core. */
export interface AppOptions {
  config: Config;
  store: Store;
  /** Loaded signing keys: a `KeyRing` `init()`ed on Node, `SecretKeys` on Workers. */
  keys: SigningKeys;
  /**
   * The config's policies and roles as the entry's loader compiled them
   * (compileTrust); createApp compiles them itself when not given.
   */
  trust?: Trust;
  clock?: Clock;
  fetch?: typeof fetch;
  logger?: Logger;
  /** What the core counts (exchanges, denials, latency...): none unless the runtime exports them (Node's /metrics). */
  metrics?: Metrics;
  /** The caller's address as the runtime knows it. */
  clientAddress?: (c: Context) => string | null;
  /** Whether the runtime cut this request for arriving slower than limits.request_timeout. */
  timedOut?: (c: Context) => boolean;
  /** Signature primitives; WebCrypto unless the runtime brings faster ones. */
  crypto?: CryptoBackend;
  /**
   * Counts hits for `rate_limit` (which sets the limits and windows); windows
   * in this instance's memory on `clock` unless the runtime brings shared ones.
   */
  rateLimiter?: RateLimiterFactory;
  /**
   * A second level under the CI providers' JWKS kept in memory, shared by the
   * runtime's instances (Workers' Cache API); none on Node.
   */
  jwksCache?: SharedJwksCache;
  /** A word every page's header shows after the brand ("demo" for `npm start`'s demo). */
  pageLabel?: string;
}

export interface AppDeps extends Required<
  Omit<AppOptions, 'clientAddress' | 'timedOut' | 'rateLimiter' | 'jwksCache' | 'pageLabel'>
> {
  clientAddress: AppOptions['clientAddress'];
  /** The config's trust policies and roles, compiled once. */
  trust: Trust;
  minter: Minter;
  ci: CiVerifier;
  rateLimits: RateLimits | undefined;
  /** Every grant runs through it: see src/exchange/exchange.ts. */
  exchange: Exchange;
  /** The device flow's codes and approvals (its token comes through the exchange). */
  device: DeviceFlow;
  /** Browser login (SAML and sessions); undefined without sso.saml in the config. */
  browser: BrowserStack | undefined;
}

/** What the browser routes are built on, composed once by createApp. */
export interface BrowserStack {
  sso: Sso;
  saml: Saml;
  sp: ServiceProvider;
  sessions: Sessions;
  /** Binds each SAML login to the browser that started it (login CSRF). */
  binding: LoginBinding;
}
