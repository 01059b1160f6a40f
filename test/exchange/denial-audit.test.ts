import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredAuditEvent } from '../../src/store/types.js';
import { EXCHANGE, form } from '../helpers/broker.js';
import { startCi, type CiSetup } from '../helpers/ci.js';

// Fifty scopes of 80 characters: the most a request may ask for (50 scopes, 4096 characters together).
const SCOPES = Array.from(
  { length: 50 },
  (_, i) => `read:models/acme/${String(i).padStart(2, '0')}${'x'.repeat(61)}`,
);
const LONG_UA = 'curl/8 '.repeat(600);

/** Thirty policies pinned to acme/models, each with a few conditions. */
const POLICIES = Array.from({ length: 30 }, (_, i) => ({
  name: `release-${i}`,
  provider: 'github',
  match: {
    repository: 'acme/models',
    ref: `refs/heads/release-${i}`,
    environment: 'production',
    workflow: { regex: 'Release|Deploy' },
  },
  grant: ['read:models/acme/*'],
}));

const json = (row: StoredAuditEvent) => JSON.stringify(row);

describe('a refused exchange stores a bounded audit row', () => {
  let ci: CiSetup;
  beforeAll(async () => {
    ci = await startCi({ policies: POLICIES });
  });
  afterAll(() => ci.close());

  async function exchange(token: string) {
    return ci.broker.app.request('/token', {
      ...form({
        grant_type: EXCHANGE.grant_type,
        subject_token: token,
        subject_token_type: EXCHANGE.idToken,
        scope: SCOPES.join(' '),
      }),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': LONG_UA,
      },
    });
  }

  async function lastDenial(): Promise<StoredAuditEvent> {
    const rows = await ci.broker.store.queryAudit({ event: 'token.denied' });
    return rows.at(-1)!;
  }

  it('keeps a garbage token with 50 maximal scopes under 1 KiB, saying what was refused', async () => {
    const garbage = `eyJ${'A'.repeat(4000)}.x.y`;
    const res = await exchange(garbage);
    expect(res.status).toBe(400);
    const row = await lastDenial();
    expect(new TextEncoder().encode(json(row)).length).toBeLessThanOrEqual(1024);
    expect(row.subject).toBeNull();
    expect(row.reason).toMatch(/^token_invalid: /);
    expect(row.tokenSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(json(row)).toContain('more]'); // the scopes left out are counted
    expect(json(row)).toContain('truncated');
    expect(json(row)).not.toContain(garbage.slice(0, 100));
  });

  it('keeps a signed token that matched no policy to a bounded per-policy detail', async () => {
    const ref = `refs/heads/${'r'.repeat(1000)}`;
    const token = await ci.github.github({ repository: 'acme/models', ref });
    const res = await exchange(token);
    expect(res.status).toBe(400);
    const row = await lastDenial();
    expect(new TextEncoder().encode(json(row)).length).toBeLessThanOrEqual(6 * 1024);
    expect(row.subject).toBe('ci:github:repo:acme/models:environment:production');
    const detail = row.detail as {
      policies: { policy: string; conditions: Record<string, unknown>[] }[];
      more_policies: number;
    };
    expect(detail.policies).toHaveLength(8);
    expect(detail.more_policies).toBe(22);
    // Each policy says which check failed and which were never run.
    expect(detail.policies[3]).toEqual({
      policy: 'release-3',
      conditions: [
        { claim: 'repository', matched: true },
        {
          claim: 'ref',
          expected: '"refs/heads/release-3"',
          actual: `${JSON.stringify(ref).slice(0, 96)}…[truncated, ${ref.length + 2} chars]`,
          matched: false,
        },
        { claim: 'environment', matched: false, skipped: true },
        { claim: 'workflow', matched: false, skipped: true },
      ],
    });
  });

  it('keeps a bounded row for a token from another repository: eight policies failing at their pin, and a count', async () => {
    const token = await ci.github.github({
      repository: 'evil/models',
      ref: `refs/heads/${'r'.repeat(1000)}`,
    });
    expect((await exchange(token)).status).toBe(400);
    const row = await lastDenial();
    expect(new TextEncoder().encode(json(row)).length).toBeLessThanOrEqual(6 * 1024);
    expect(row.detail).toMatchObject({
      ci: { repository: 'evil/models' },
      more_policies: 22,
      pin_mismatch: 30,
    });
    // The failed pin, and the conditions never run after it.
    expect((row.detail as { policies: unknown[] }).policies[0]).toEqual({
      policy: 'release-0',
      conditions: [
        {
          claim: 'repository',
          expected: '"acme/models"',
          actual: '"evil/models"',
          matched: false,
        },
        { claim: 'ref', matched: false, skipped: true },
        { claim: 'environment', matched: false, skipped: true },
        { claim: 'workflow', matched: false, skipped: true },
      ],
    });
  });

  it('stores each replay of an identical refusal small, with its count', async () => {
    const token = await ci.github.github({ repository: 'acme/models', ref: 'refs/heads/x' });
    for (let i = 0; i < 4; i++) expect((await exchange(token)).status).toBe(400);
    const rows = (await ci.broker.store.queryAudit({ event: 'token.denied' })).slice(-4);
    expect(new Set(rows.map((r) => r.tokenSha256)).size).toBe(1);
    expect((rows[0]!.detail as { policies: unknown[] }).policies).toHaveLength(8);
    expect(rows.slice(1).map((r) => r.detail)).toEqual([
      { repeat: 2, first_time: rows[0]!.time },
      { repeat: 3, first_time: rows[0]!.time },
      { repeat: 4, first_time: rows[0]!.time },
    ]);
    for (const r of rows.slice(1)) {
      expect(new TextEncoder().encode(json(r)).length).toBeLessThanOrEqual(1024);
      expect(r.reason).toMatch(/^no_policy_matched: no trust policy matched/);
    }
  });

  it('stores a refusal in full again once the repeat window has passed', async () => {
    const token = await ci.github.github(
      { repository: 'acme/models', ref: 'refs/heads/y' },
      { ttl: 3600 },
    );
    await exchange(token);
    await exchange(token);
    ci.broker.clock.advance(601);
    await exchange(token);
    const rows = (await ci.broker.store.queryAudit({ event: 'token.denied' })).slice(-3);
    expect(rows.map((r) => 'policies' in (r.detail ?? {}))).toEqual([true, false, true]);
  });
});
