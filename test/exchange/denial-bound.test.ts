import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DENIAL_BUDGET, boundDenial, clipText } from '../../src/exchange/denial-audit.js';
import type { AuditEvent } from '../../src/store/types.js';

const bytes = (row: AuditEvent) => new TextEncoder().encode(JSON.stringify(row)).length;

// Any text a caller can put in a row: long, non-ASCII, lone surrogates.
const text = fc.string({ unit: 'binary', maxLength: 3000 });
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.array(tie('value'), { maxLength: 60 }),
    fc.dictionary(text, tie('value'), { maxKeys: 40 }),
  ),
})).value;

const row = fc.record({
  time: fc.integer({ min: 0, max: 2 ** 31 }),
  event: fc.constant('token.denied'),
  outcome: fc.constant('denied' as const),
  subject: fc.option(text),
  source: fc.constant('ci'),
  policy: fc.option(text),
  scopes: fc.option(fc.array(text, { maxLength: 50 })),
  reason: text,
  clientAddress: fc.option(text),
  userAgent: fc.option(text),
  tokenSha256: fc.constant('a'.repeat(64)),
  detail: fc.option(fc.dictionary(text, json, { maxKeys: 40 })),
});

describe('boundDenial', () => {
  it.each([
    ['a request that proved nothing', DENIAL_BUDGET.anonymous],
    ['a validly signed token', DENIAL_BUDGET.signed],
  ])('fits %s into its budget whatever the row holds', (_name, budget) => {
    fc.assert(
      fc.property(row, (r) => {
        const bounded = boundDenial(r, budget);
        expect(bytes(bounded)).toBeLessThanOrEqual(budget);
        expect(bounded.tokenSha256).toBe(r.tokenSha256);
        expect(bounded.time).toBe(r.time);
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ['lone surrogates', '\ud800'],
    ['three-byte characters', '€'],
    ['control characters', '\u0001'],
  ])('fits its budget when every column is long %s', (_name, unit) => {
    const long = unit.repeat(5000);
    const worst: AuditEvent = {
      time: 2 ** 31,
      event: 'token.denied',
      outcome: 'denied',
      subject: long,
      source: 'exchange',
      policy: long,
      scopes: Array.from({ length: 50 }, () => long),
      reason: long,
      clientAddress: long,
      userAgent: long,
      tokenSha256: 'a'.repeat(64),
      detail: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${long}${i}`, [long]])),
    };
    expect(bytes(boundDenial(worst, DENIAL_BUDGET.anonymous))).toBeLessThanOrEqual(
      DENIAL_BUDGET.anonymous,
    );
  });

  it('leaves a row that fits untouched', () => {
    const r: AuditEvent = {
      time: 1,
      event: 'token.denied',
      outcome: 'denied',
      reason: 'token_invalid: subject_token is not a JWT',
      scopes: ['read:models/acme/bert'],
      detail: { policies: [] },
    };
    expect(boundDenial(r, DENIAL_BUDGET.anonymous)).toEqual(r);
  });

  it('marks a cut value with its full length', () => {
    expect(clipText('x'.repeat(300), 4)).toBe('xxxx…[truncated, 300 chars]');
    expect(clipText('short', 10)).toBe('short');
  });
});
