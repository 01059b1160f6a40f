import { isBrokerError, type ErrorCode } from './errors.js';

/**
 * What the core counts for an operator's dashboards and alerts. Each event is
 * reported from the one place it passes (the exchange, revocation, the JWKS
 * fetcher, the SAML ACS, the access log); the runtime decides what it becomes:
 * Prometheus series on Node (src/node/metrics.ts), nothing on Workers, whose
 * own analytics serve that purpose.
 *
 * Every label value comes from a set the code or the config fixes (a grant, a
 * configured provider's name, an error code, a route pattern), never from what
 * a caller sent: a caller must not be able to create series, and no claim,
 * token or message text may reach a metric.
 */
export interface Metrics {
  /** One run of the exchange, whatever its grant. */
  exchange(event: ExchangeEvent): void;
  /** Tokens revoked at once (one, plus those narrowed from it). */
  tokensRevoked(by: RevokedBy, count: number): void;
  /** One fetch of a CI provider's keys (discovery and JWKS), `provider` as configured. */
  jwksFetch(provider: string, ok: boolean): void;
  /** One assertion posted to the ACS: `success`, or the refusal's code (`no_access`, `saml_invalid`...). */
  samlLogin(outcome: 'success' | ErrorCode): void;
  /** One HTTP request, as the access log records it. */
  request(event: RequestEvent): void;
  /**
   * Where the live-sessions gauge is read at scrape time (a count in the
   * store, right after restarts and across instances); set once, with SSO.
   */
  liveSessions(read: () => Promise<number>): void;
}

/**
 * `issued`, `denied` (a 4xx refusal: `reason` is its code), `pending` (a
 * device polling before anyone decided: no refusal), `error` (ours: 5xx).
 */
export type ExchangeOutcome = 'issued' | 'denied' | 'pending' | 'error';

export interface ExchangeEvent {
  /** The grant: `ci`, `exchange` (narrowing), `web` (the person's page), `device`. */
  grant: string;
  /**
   * The configured CI provider that vouched for the token (grant `ci`),
   * `unknown` when it was refused before one did, `none` for other grants.
   */
  provider: string;
  outcome: ExchangeOutcome;
  /** The refusal's or failure's stable code; none when issued. */
  reason?: ErrorCode;
}

/** At /revoke by the token's holder, on the person's page by its owner, by an operator. */
export type RevokedBy = 'holder' | 'owner' | 'operator' | 'scim';

export interface RequestEvent {
  method: string;
  /** The matched route's pattern (`/tokens/:jti/revoke`), never the path: `unmatched` for none. */
  route: string;
  status: number;
  seconds: number;
}

/** How a failure is counted: its stable code, or `internal` for anything that is no BrokerError. */
export function failureCode(e: unknown): ErrorCode {
  return isBrokerError(e) ? e.code : 'internal';
}

/** The default: counts nothing (Workers, the CLI, tests that do not look). */
export const noMetrics: Metrics = {
  exchange() {},
  tokensRevoked() {},
  jwksFetch() {},
  samlLogin() {},
  request() {},
  liveSessions() {},
};
