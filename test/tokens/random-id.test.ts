import { describe, expect, it } from 'vitest';
import { base64urlDecode } from '../../src/jws/compact.js';
import { randomId } from '../../src/shared/crypto.js';

describe('random ids', () => {
  it.each([1, 2, 3, 16, 20, 24, 32, 4097])(
    'encode %i random bytes as canonical unpadded base64url',
    (bytes) => {
      const id = randomId(bytes);
      expect(id).toHaveLength(Math.ceil((bytes * 4) / 3));
      // base64urlDecode refuses any other alphabet and set unused trailing bits.
      expect(base64urlDecode(id)).toHaveLength(bytes);
    },
  );

  it('never repeats, across refills of the random pool', () => {
    const ids = Array.from({ length: 1000 }, () => randomId());
    expect(new Set(ids).size).toBe(ids.length);
  });
});
