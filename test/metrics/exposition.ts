import { createHash } from 'node:crypto';
import { nodeTarget, type Target } from '../contract/targets.js';

/** The bearer token the metrics tests' broker asks of its scrapers. */
export const METRICS_TOKEN = 'metrics-scraper-token-for-tests';

/**
 * `tokenbroker serve` on a real socket and SQLite file, as the contract tests
 * start it (two CI issuers, the test IdP), with `metrics.token_sha256` set.
 */
export const protectedNodeTarget: Target = {
  name: 'node',
  start: (options) =>
    nodeTarget.start({
      ...options,
      config: {
        ...options.config,
        metrics: { token_sha256: createHash('sha256').update(METRICS_TOKEN).digest('hex') },
      },
    }),
};

/** One sample of the Prometheus text format: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of an exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(LABEL)].map((l) => [l[1], l[2]]));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels are exactly `labels`; 0 when none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const want = JSON.stringify(Object.entries(labels).sort());
  const found = samples.filter(
    (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want,
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${want}`);
  return found[0]?.value ?? 0;
}
