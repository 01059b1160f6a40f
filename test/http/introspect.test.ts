import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesEqualInConstantTime, constantTimeEqual } from '../../src/shared/crypto.js';
import { introspect, mintFor, startBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker;
beforeEach(async () => {
  broker = await startBroker();
});
afterEach(() => broker.cleanup());

// What introspection answers over HTTP is in test/contract/token-lifecycle.test.ts,
// run against Node and Workers alike; here, what needs the clock or the database.
describe('introspection (RFC 7662)', () => {
  it('reports an expired token inactive', async () => {
    const minted = await mintFor(broker, ['read:models/acme/*'], 60);
    broker.clock.advance(61);
    expect(await introspect(broker, minted.token)).toEqual({ active: false });
  });

  it('reports a token inactive once its row is gone (pruned or never recorded)', async () => {
    const minted = await mintFor(broker, ['read:models/acme/*']);
    await broker.sql('DELETE FROM issued_tokens WHERE jti = ?', minted.jti);
    expect(await introspect(broker, minted.token)).toEqual({ active: false });
  });

  it('compares secrets without an early exit: the bytes read do not depend on where the first difference is', () => {
    const a = 'f'.repeat(64);
    expect(constantTimeEqual(a, a)).toBe(true);
    expect(constantTimeEqual(a, `0${a.slice(1)}`)).toBe(false);
    expect(constantTimeEqual(a, `${a.slice(0, 63)}0`)).toBe(false);
    expect(constantTimeEqual(a, a.slice(0, 63))).toBe(false);
    // The property itself, not a timing: record every index the comparison reads.
    const reads = (b: string) => {
      const read: string[] = [];
      const watched = (name: string, bytes: Uint8Array) =>
        new Proxy(bytes, {
          get(target, key) {
            if (typeof key === 'string' && /^\d+$/.test(key)) read.push(`${name}${key}`);
            return Reflect.get(target, key) as unknown;
          },
        });
      const enc = new TextEncoder();
      const equal = bytesEqualInConstantTime(
        watched('x', enc.encode(a)),
        watched('y', enc.encode(b)),
      );
      return { equal, read };
    };
    const same = reads(a);
    const first = reads(`0${a.slice(1)}`);
    const last = reads(`${a.slice(0, 63)}0`);
    expect([same.equal, first.equal, last.equal]).toEqual([true, false, false]);
    expect(same.read).toHaveLength(128); // every byte of both
    expect(first.read).toEqual(same.read);
    expect(last.read).toEqual(same.read);
  });
});
