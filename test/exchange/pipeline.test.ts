import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Exchange } from '../../src/exchange/exchange.js';
import type { Grant, GrantInput, Verified } from '../../src/exchange/grant.js';
import { webCryptoBackend } from '../../src/jws/backend.js';
import { CiVerifier } from '../../src/oidc/verify.js';
import { compileTrust } from '../../src/policy/compile.js';
import { inMemoryLimiters } from '../../src/rate-limit/fixed-window.js';
import { RateLimits } from '../../src/rate-limit/limits.js';
import { BrokerError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/log.js';
import { introspect, startBroker, type TestBroker } from '../helpers/broker.js';

/*
 * The exchange runs every grant the same way. These tests plug in a grant of
 * their own, the way the device grant will, and watch each step through what
 * the exchange leaves behind: the token, its audit row, or the refusal's.
 */

const REQUEST = { clientAddress: '192.0.2.7', userAgent: 'pipeline-test' };

interface TestInput extends GrantInput {
  /** What the test grant's verify does. */
  proof: 'good' | 'forged' | 'used-once';
}

/** A grant whose subject is proved by a word, entitled to one policy. */
const testGrant: Grant<TestInput, Verified> = {
  source: 'web',
  names: 'policies',
  async verify(input) {
    if (input.proof === 'forged') throw new BrokerError('token_invalid', 'the proof is forged');
    return {
      subject: 'user:pipeline@example.com',
      clientId: 'test-grant',
      detail: { proof: input.proof },
      once:
        input.proof === 'used-once' ? { key: 'test:once', expiresAt: 4_000_000_000 } : undefined,
    };
  },
  entitle() {
    return [{ source: 'test-policy', scopes: ['read:models/acme/*'], maxTtl: 600 }];
  },
  replayed() {
    return new BrokerError('token_replayed', 'this proof was used already: get a new one');
  },
};

const input = (proof: TestInput['proof'], scope?: string[]): TestInput => ({
  proof,
  subjectToken: `proof-${proof}`,
  asked: { scopes: scope, resource: undefined, ttlSeconds: 3600 },
});

describe('the exchange pipeline', () => {
  let b: TestBroker;
  let exchange: Exchange;
  beforeEach(async () => {
    b = await startBroker();
    exchange = new Exchange({
      config: b.config,
      trust: compileTrust(b.config),
      store: b.store,
      keys: b.keys,
      clock: b.clock,
      crypto: webCryptoBackend,
      ci: new CiVerifier([], {
        fetch,
        clock: b.clock,
        logger: silentLogger,
        crypto: webCryptoBackend,
      }),
      minter: b.minter,
      rateLimits: new RateLimits(
        {
          perClient: { limit: 100, windowSeconds: 60 },
          perSubject: { limit: 2, windowSeconds: 60 },
          failedAuth: { limit: 100, windowSeconds: 60 },
        },
        inMemoryLimiters(b.clock),
      ),
    });
  });
  afterEach(() => b.cleanup());

  it('issues what the grant entitles, capped by its lifetime, and records the issue with the grant’s detail', async () => {
    const minted = await exchange.run(testGrant, input('good'), REQUEST);
    expect(minted.scopes).toEqual(['read:models/acme/*']);
    expect(minted.expiresIn).toBe(600); // the entitlement's cap beats the 3600 asked
    expect((await introspect(b, minted.token)).active).toBe(true);
    const [row] = await b.store.queryAudit({ event: 'token.issued' });
    expect(row).toMatchObject({
      subject: 'user:pipeline@example.com',
      source: 'web',
      policy: 'test-policy',
      jti: minted.jti,
      clientAddress: '192.0.2.7',
      detail: { proof: 'good' },
    });
  });

  it('records a refusal in verify without a subject: nothing was proved', async () => {
    await expect(exchange.run(testGrant, input('forged'), REQUEST)).rejects.toMatchObject({
      code: 'token_invalid',
    });
    const [row] = await b.store.queryAudit({ event: 'token.denied' });
    expect(row).toMatchObject({
      subject: null,
      policy: null,
      reason: 'token_invalid: the proof is forged',
    });
    expect(row!.tokenSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('records a refusal after verify with the subject and the policies that were weighed', async () => {
    await expect(
      exchange.run(testGrant, input('good', ['write:models/acme/x']), REQUEST),
    ).rejects.toMatchObject({ code: 'invalid_scope' });
    const [row] = await b.store.queryAudit({ event: 'token.denied' });
    expect(row).toMatchObject({
      subject: 'user:pipeline@example.com',
      policy: 'test-policy',
      scopes: ['write:models/acme/x'],
      detail: { proof: 'good' },
    });
    expect(await b.store.queryAudit({ event: 'token.issued' })).toHaveLength(0);
  });

  it('turns the store’s "already used" into the grant’s own refusal, and issues nothing the second time', async () => {
    await exchange.run(testGrant, input('used-once'), REQUEST);
    await expect(exchange.run(testGrant, input('used-once'), REQUEST)).rejects.toMatchObject({
      code: 'token_replayed',
      message: 'this proof was used already: get a new one',
    });
    expect(await b.store.queryAudit({ event: 'token.issued' })).toHaveLength(1);
    const [denied] = await b.store.queryAudit({ event: 'token.denied' });
    expect(denied).toMatchObject({
      subject: 'user:pipeline@example.com',
      reason: expect.stringMatching(/^token_replayed/),
    });
  });

  it('rate-limits the verified subject, whatever grant it came through, without a row per refused request', async () => {
    await exchange.run(testGrant, input('good'), REQUEST);
    await exchange.run(testGrant, input('good'), REQUEST);
    await expect(exchange.run(testGrant, input('good'), REQUEST)).rejects.toMatchObject({
      code: 'rate_limited',
    });
    expect(await b.store.queryAudit({ event: 'token.denied' })).toHaveLength(0);
    b.clock.advance(60_000);
    await expect(exchange.run(testGrant, input('good'), REQUEST)).resolves.toMatchObject({
      scopes: ['read:models/acme/*'],
    });
  });
});
