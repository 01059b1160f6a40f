import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/shared/errors.js';
import { MAX_SCOPE_CLAIM_LENGTH, MAX_SCOPES } from '../../src/protocol/scope.js';
import { MAX_TOKEN_BYTES } from '../../src/tokens/verify.js';
import { form, introspect, mintFor, startBroker } from '../helpers/broker.js';
import type { TestBroker } from '../helpers/broker.js';
import { startCi } from '../helpers/ci.js';

/** `count` distinct scopes, joined exactly `total` characters long. */
function scopesOfLength(count: number, total: number): string[] {
  const base = Math.floor((total - (count - 1)) / count);
  const scopes = Array.from({ length: count }, (_, i) => {
    const head = `write:models/acme/${String(i).padStart(2, '0')}`;
    return head + 'x'.repeat(base - head.length);
  });
  const short = total - scopes.join(' ').length;
  scopes[count - 1] += 'y'.repeat(short);
  return scopes;
}

async function refusal(p: Promise<unknown>): Promise<BrokerError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BrokerError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('the Minter signs only scopes the broker accepts back', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(() => broker.cleanup());

  it.each([
    ['a control character', ['read:models/acme/bert\u001b[2J']],
    ['a NUL', ['read:models/acme/\u0000']],
    ['a right-to-left override', ['read:models/acme/\u202etreb']],
    ['a space inside', ['read:models/acme/my bert']],
    ['no scope at all', []],
    ['an empty scope', ['']],
    ['no permission', ['models/acme/bert']],
    ['an empty segment', ['read:models//bert']],
    ['a .. segment', ['read:models/acme/..']],
    ['a 201-character resource', [`read:${'r'.repeat(201)}`]],
    ['a 17,000-character resource', [`read:models/acme/${'b'.repeat(17_000)}`]],
    ['51 scopes', Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `read:models/acme/m${i}`)],
    ['a scope claim one character too long', scopesOfLength(20, MAX_SCOPE_CLAIM_LENGTH + 1)],
  ])('refuses to sign a token with %s, whatever path reached it', async (_, scopes) => {
    const e = await refusal(mintFor(broker, scopes));
    expect(e.code).toBe('invalid_scope');
    expect(e.message).toMatch(/^[\x20-\x7e]*$/);
    expect(e.message.length).toBeLessThan(400);
  });

  it('signs the most it allows: 50 scopes, 4096 characters together', async () => {
    const scopes = scopesOfLength(MAX_SCOPES, MAX_SCOPE_CLAIM_LENGTH);
    const { token } = await mintFor(broker, scopes);
    expect((await introspect(broker, token)).scope).toBe(scopes.join(' '));
  });
});

describe('every token a request can produce is accepted back at /introspect and /revoke', () => {
  const long = (prefix: string) => prefix + 'z'.repeat(1024 - prefix.length);

  it.each(['ES256', 'RS256', 'EdDSA'])(
    'with %s keys, 50 scopes of 4096 characters and 1024-character CI claims',
    async (algorithm) => {
      const ci = await startCi({
        extra: {
          tokens: { audience: 'https://hub.test', default_ttl: '15m', max_ttl: '1h', algorithm },
        },
        policies: [
          {
            name: 'all',
            provider: 'github',
            match: { repository_id: '860122172' },
            grant: ['*:**'],
          },
        ],
      });
      try {
        const scopes = scopesOfLength(MAX_SCOPES, MAX_SCOPE_CLAIM_LENGTH);
        const claims = {
          sub: long('repo:acme/'),
          repository: long('acme/'),
          ref: long('refs/heads/'),
          workflow: long('w'),
          workflow_ref: undefined,
          run_id: long('1'),
        };
        const res = await ci.exchange(await ci.github.github(claims), { scope: scopes.join(' ') });
        expect(res.status).toBe(200);
        const token = ((await res.json()) as { access_token: string }).access_token;
        expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_BYTES);
        expect((await introspect(ci.broker, token)).active).toBe(true);
        const revoked = await ci.broker.app.request('/revoke', form({ token }));
        expect(revoked.status).toBe(200);
        expect((await introspect(ci.broker, token)).active).toBe(false);
      } finally {
        await ci.close();
      }
    },
  );

  it('refuses 50 scopes of the longest form at /token, which would have made a 16 KiB token', async () => {
    const ci = await startCi({
      policies: [
        { name: 'all', provider: 'github', match: { repository_id: '860122172' }, grant: ['*:**'] },
      ],
    });
    try {
      const longest = Array.from(
        { length: MAX_SCOPES },
        (_, i) => `${'p'.repeat(30)}${String(i).padStart(2, '0')}:${'r'.repeat(200)}`,
      );
      const res = await ci.exchange(await ci.github.github(), { scope: longest.join(' ') });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, string>;
      expect(body.error).toBe('invalid_scope');
      expect(body.error_description).toMatch(/at most 4096 fit in one token/);
    } finally {
      await ci.close();
    }
  });

  it('refuses, with advice, a request naming no scope when the matched policies grant more than 50', async () => {
    // One grant over 50 is refused at load (config check); two that match together are not.
    const grant = (from: number) =>
      Array.from({ length: MAX_SCOPES / 2 + 1 }, (_, i) => `read:models/acme/m${from + i}`);
    const match = { repository_id: '860122172' };
    const ci = await startCi({
      policies: [
        { name: 'wide-1', provider: 'github', match, grant: grant(0) },
        { name: 'wide-2', provider: 'github', match, grant: grant(100) },
      ],
    });
    try {
      const res = await ci.exchange(await ci.github.github());
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'invalid_scope',
        error_description:
          'the token would carry 52 scopes: at most 50 fit in one token; ask for fewer with scope',
      });
      const fewer = await ci.exchange(await ci.github.github(), { scope: 'read:models/acme/m7' });
      expect(fewer.status).toBe(200);
    } finally {
      await ci.close();
    }
  });

  it('refuses with a 400, and no token, when CI claims would make the token larger than 16 KiB', async () => {
    const ci = await startCi({
      policies: [
        { name: 'all', provider: 'github', match: { repository_id: '860122172' }, grant: ['*:**'] },
      ],
    });
    try {
      const scopes = scopesOfLength(MAX_SCOPES, MAX_SCOPE_CLAIM_LENGTH);
      const res = await ci.exchange(await ci.github.github({ workflow: 'w'.repeat(9000) }), {
        scope: scopes.join(' '),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, string>;
      expect(body.access_token).toBeUndefined();
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(/16 KiB.*ask for fewer or shorter scopes/);
      // Fewer scopes fit: the message's advice works.
      const fewer = await ci.exchange(await ci.github.github({ workflow: 'w'.repeat(9000) }), {
        scope: 'write:models/acme/bert',
      });
      expect(fewer.status).toBe(200);
    } finally {
      await ci.close();
    }
  });
});
