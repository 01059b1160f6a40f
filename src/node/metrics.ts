import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../shared/log.js';
import type { ExchangeEvent, Metrics, RequestEvent, RevokedBy } from '../shared/metrics.js';
import type { ErrorCode } from '../shared/errors.js';

/**
 * The core's metrics as Prometheus series, on a Registry of this broker's own
 * (never prom-client's global one: a test process starts many brokers, and
 * each must count only its own traffic). The label values are the core's,
 * each from a fixed set (see src/shared/metrics.ts). Served by GET /metrics
 * (src/node/metrics-route.ts).
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly exchanges = this.counter(
    'tokenbroker_exchanges_total',
    'Token requests by grant (ci, exchange, web, device), CI provider and outcome (issued, denied, pending, error)',
    ['grant', 'provider', 'outcome'],
  );
  private readonly denials = this.counter(
    'tokenbroker_denials_total',
    'Token requests refused, by grant and reason (the refusal code, e.g. no_policy_matched)',
    ['grant', 'reason'],
  );
  private readonly issued = this.counter(
    'tokenbroker_tokens_issued_total',
    'Tokens issued, by source (ci, exchange, web, device)',
    ['source'],
  );
  private readonly revoked = this.counter(
    'tokenbroker_tokens_revoked_total',
    'Tokens revoked (narrowed tokens included), by whom: holder (/revoke), owner (the web page), operator',
    ['by'],
  );
  private readonly jwks = this.counter(
    'tokenbroker_jwks_fetches_total',
    "Fetches of a CI provider's signing keys, by provider and outcome (success, failure)",
    ['provider', 'outcome'],
  );
  private readonly saml = this.counter(
    'tokenbroker_saml_logins_total',
    'SAML assertions posted to the ACS, by outcome (success, or the refusal code: no_access, saml_invalid...)',
    ['outcome'],
  );
  private readonly latency = new Histogram({
    name: 'tokenbroker_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route pattern (never the path) and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readSessions: (() => Promise<number>) | undefined;

  constructor(logger: Logger) {
    const source = () => this.readSessions;
    new Gauge({
      name: 'tokenbroker_live_sessions',
      help: 'Browser sessions neither expired nor idle, counted in the database at scrape time',
      registers: [this.registry],
      async collect() {
        const read = source();
        if (!read) return;
        try {
          this.set(await read());
        } catch (e) {
          // The rest of the scrape still matters most when the database is in trouble.
          logger.warn('live sessions could not be counted for /metrics', { error: e });
          this.set(Number.NaN);
        }
      },
    });
  }

  exchange({ grant, provider, outcome, reason }: ExchangeEvent): void {
    this.exchanges.inc({ grant, provider, outcome });
    if (outcome === 'denied') this.denials.inc({ grant, reason: reason ?? 'unknown' });
    if (outcome === 'issued') this.issued.inc({ source: grant });
  }

  tokensRevoked(by: RevokedBy, count: number): void {
    // Zero is still a series: "revocations happen, none found a live token".
    this.revoked.inc({ by }, count);
  }

  jwksFetch(provider: string, ok: boolean): void {
    this.jwks.inc({ provider, outcome: ok ? 'success' : 'failure' });
  }

  samlLogin(outcome: 'success' | ErrorCode): void {
    this.saml.inc({ outcome });
  }

  request({ method, route, status, seconds }: RequestEvent): void {
    this.latency.observe({ method, route, status: String(status) }, seconds);
  }

  liveSessions(read: () => Promise<number>): void {
    this.readSessions = read;
  }

  /** The Prometheus text: this broker's series, then the process's. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge([this.registry, processRegistry()]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

let processMetrics: Registry | undefined;

/**
 * prom-client's process metrics (CPU, memory, heap, event-loop lag, GC,
 * file descriptors), `tokenbroker_`-prefixed: one set per process, created at
 * the first scrape and shared by every broker in it, since they describe the
 * process (each set starts its own event-loop and GC observers, never stopped).
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, prefix: 'tokenbroker_' });
  }
  return processMetrics;
}
