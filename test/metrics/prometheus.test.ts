import { describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../../src/node/metrics.js';
import type { Logger } from '../../src/shared/log.js';
import { parseExposition, valueOf } from './exposition.js';

// The Node metrics on their own: what a scrape shows when the database cannot
// be read, and that two brokers in one process count apart.

function warnings() {
  const seen: { msg: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = {
    info() {},
    warn: (msg, fields) => seen.push({ msg, fields }),
    error() {},
  };
  return { seen, logger };
}

describe('the Prometheus metrics of the Node entry', () => {
  it('still answers a scrape when live sessions cannot be counted: NaN, and a warning naming why', async () => {
    const { seen, logger } = warnings();
    const metrics = new PrometheusMetrics(logger);
    metrics.liveSessions(() => Promise.reject(new Error('SQLITE_IOERR: disk I/O error')));
    metrics.samlLogin('success');
    const { body } = await metrics.exposition();
    const samples = parseExposition(body);
    expect(valueOf(samples, 'tokenbroker_live_sessions')).toBeNaN();
    expect(valueOf(samples, 'tokenbroker_saml_logins_total', { outcome: 'success' })).toBe(1);
    expect(seen.map((w) => [w.msg, (w.fields?.error as Error).message])).toEqual([
      ['live sessions could not be counted for /metrics', 'SQLITE_IOERR: disk I/O error'],
    ]);
  });

  it('reads the live-sessions gauge at each scrape, from the source the core set', async () => {
    const metrics = new PrometheusMetrics(warnings().logger);
    let live = 3;
    metrics.liveSessions(async () => live);
    const first = parseExposition((await metrics.exposition()).body);
    live = 1;
    const second = parseExposition((await metrics.exposition()).body);
    expect([first, second].map((s) => valueOf(s, 'tokenbroker_live_sessions'))).toEqual([3, 1]);
  });

  it('keeps two brokers in one process apart: each counts only its own events', async () => {
    const a = new PrometheusMetrics(warnings().logger);
    const b = new PrometheusMetrics(warnings().logger);
    a.exchange({ grant: 'ci', provider: 'github', outcome: 'denied', reason: 'no_policy_matched' });
    a.tokensRevoked('holder', 2);
    const of = async (m: PrometheusMetrics) => parseExposition((await m.exposition()).body);
    const [inA, inB] = [await of(a), await of(b)];
    const denied = { grant: 'ci', reason: 'no_policy_matched' };
    expect(valueOf(inA, 'tokenbroker_denials_total', denied)).toBe(1);
    expect(valueOf(inB, 'tokenbroker_denials_total', denied)).toBe(0);
    expect(valueOf(inA, 'tokenbroker_tokens_revoked_total', { by: 'holder' })).toBe(2);
    // The process's own metrics are shared: they describe the one process.
    expect(valueOf(inB, 'tokenbroker_process_start_time_seconds')).toBe(
      valueOf(inA, 'tokenbroker_process_start_time_seconds'),
    );
  });
});
