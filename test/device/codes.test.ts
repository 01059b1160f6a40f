import { describe, expect, it } from 'vitest';
import {
  USER_CODE_ALPHABET,
  displayUserCode,
  newDeviceCode,
  newUserCode,
  normalizeUserCode,
} from '../../src/exchange/device-codes.js';
import { randomString } from '../../src/shared/crypto.js';

describe('device and user codes', () => {
  it('draws user codes of 8 letters without vowels or look-alikes, every letter about as often', () => {
    expect(USER_CODE_ALPHABET).toHaveLength(20);
    expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOUY0-9]/);
    const counts = new Map<string, number>();
    const draws = 20_000;
    for (let i = 0; i < draws; i++) {
      const code = newUserCode();
      expect(code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
      for (const ch of code) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    // 160,000 letters, 8,000 expected each. A byte taken modulo 20 without
    // rejection would give the first 16 letters 8,125 and the last 4 7,500:
    // a chi-square near 175 (156 from the bias, 19 from chance), where an even
    // draw goes over 60 about 4 times in a million (19 degrees of freedom).
    const expected = (draws * 8) / 20;
    let chi2 = 0;
    for (const ch of USER_CODE_ALPHABET) chi2 += ((counts.get(ch) ?? 0) - expected) ** 2 / expected;
    expect(chi2).toBeLessThan(60);
  });

  it('refuses an alphabet it cannot draw from evenly', () => {
    expect(() => randomString('A', 4)).toThrow(/cannot be drawn from/);
    expect(randomString('AB', 64)).toMatch(/^[AB]{64}$/);
  });

  it('makes device codes of 32 random bytes, never twice', () => {
    const codes = Array.from({ length: 500 }, newDeviceCode);
    for (const c of codes) expect(c).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each([
    ['BCDF-GHJK', 'BCDFGHJK'],
    ['bcdfghjk', 'BCDFGHJK'],
    [' bcdf ghjk\t', 'BCDFGHJK'],
    ['bcdf\u2013ghjk', 'BCDFGHJK'],
    ['B-C-D-F-G-H-J-K', 'BCDFGHJK'],
  ])('reads %j as the code %s', (typed, code) => {
    expect(normalizeUserCode(typed)).toBe(code);
    expect(displayUserCode(code)).toBe('BCDF-GHJK');
  });

  it.each([
    ['nothing', undefined],
    ['an empty field', ''],
    ['seven letters', 'BCDF-GHJ'],
    ['nine letters', 'BCDF-GHJKL'],
    ['a vowel', 'BCDF-GHJA'],
    ['a digit', 'BCDF-GHJ1'],
    ['a letter outside ASCII that folds into one', 'BCDF-GHJ\u212a'],
    ['a very long text', `BCDFGHJK${' '.repeat(40)}`],
  ])('reads %s as no code at all', (_name, typed) => {
    expect(normalizeUserCode(typed)).toBeUndefined();
  });
});
