import { describe, expect, it } from 'vitest';
import { formatResult, runFuzz } from './harness.js';

/**
 * A sample of `npm run fuzz` for `npm test`: the same generators and
 * oracles, about 3,000 requests from a fixed seed (FUZZ_SEED overrides it),
 * so a failure here reproduces with `npm run fuzz -- --seed <seed> --workers 1`.
 */
const seed = Number(process.env.FUZZ_SEED ?? 20261201);

describe(`a sample of the fuzz (seed ${seed})`, () => {
  it('answers every request without a 5xx, a crash, a logged error or a token for invalid input', async () => {
    const result = await runFuzz({ runs: 700, seed });
    const summary = formatResult(result);
    expect(result.stats.requests, summary).toBeGreaterThan(2000);
    expect(
      result.findings.map((f) => f.kind),
      summary,
    ).toEqual([]);
  }, 90_000);
});
