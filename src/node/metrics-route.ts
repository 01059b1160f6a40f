import type { Context } from 'hono';
import { constantTimeEqual, sha256Hex } from '../shared/crypto.js';
import { BrokerError } from '../shared/errors.js';
import type { PrometheusMetrics } from './metrics.js';

const REALM = 'Bearer realm="tokenbroker metrics"';
const WHAT_TO_SEND =
  'send Authorization: Bearer <token>, the token whose SHA-256 is metrics.token_sha256 in the broker config (in Prometheus: authorization.credentials_file)';

/**
 * GET /metrics, the Prometheus text format. With `metrics.token_sha256` in
 * the config, the scraper must send that token as a bearer: it is hashed and
 * the digests compared in constant time, so the config holds no secret and
 * timing tells nothing about it. Without it, anyone who reaches the port may
 * scrape (the series carry counts and route patterns, never a subject).
 */
export function metricsHandler(metrics: PrometheusMetrics, tokenSha256: string | undefined) {
  return async function serveMetrics(c: Context): Promise<Response> {
    if (tokenSha256 !== undefined) await requireBearer(c.req.header('authorization'), tokenSha256);
    const { contentType, body } = await metrics.exposition();
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  };
}

async function requireBearer(header: string | undefined, tokenSha256: string): Promise<void> {
  // One run of non-space after "Bearer": linear whatever the header holds.
  const token = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (token === undefined) {
    throw new BrokerError('invalid_token', `/metrics requires a bearer token: ${WHAT_TO_SEND}`, {
      headers: { 'WWW-Authenticate': REALM },
    });
  }
  if (!constantTimeEqual(await sha256Hex(token), tokenSha256)) {
    throw new BrokerError('invalid_token', `wrong token for /metrics: ${WHAT_TO_SEND}`, {
      headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
    });
  }
}
