import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCi, type CiSetup } from '../helpers/ci.js';

let ci: CiSetup;
beforeEach(async () => {
  ci = await startCi();
});
afterEach(() => ci.close());

// What the exchange of a CI token answers over HTTP is in
// test/contract/ci-exchange.test.ts, run against Node and Workers alike; here
// is what it records, which a client does not see.
describe('CI token exchange', () => {
  it('keeps each policy’s condition outcomes in the denial’s audit row, and not the token', async () => {
    const token = await ci.github.github({ repository: 'acme/x', ref: 'refs/heads/feat' });
    await ci.exchange(token);
    const [row] = await ci.broker.store.queryAudit({ outcome: 'denied' });
    expect(row).toMatchObject({
      event: 'token.denied',
      subject: 'ci:github:repo:acme/models:environment:production',
      source: 'ci',
    });
    const policies = (
      row!.detail as {
        policies: {
          policy: string;
          conditions: { claim: string; matched: boolean; actual: string }[];
        }[];
      }
    ).policies;
    expect(policies.map((p) => p.policy)).toEqual(['models-release', 'acme-readers']);
    expect(policies[0]!.conditions.find((c) => c.claim === 'repository')).toEqual({
      claim: 'repository',
      expected: '"acme/models"',
      actual: '"acme/x"',
      matched: false,
    });
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it('audits an issue with the policy names and the token hash', async () => {
    const body = await (
      await ci.exchange(await ci.github.github(), { scope: 'write:models/acme/bert' })
    ).json();
    const [row] = await ci.broker.store.queryAudit({ event: 'token.issued' });
    expect(row).toMatchObject({
      outcome: 'success',
      policy: 'models-release',
      source: 'ci',
      scopes: ['write:models/acme/bert'],
    });
    expect(row!.jti).toBe(decodeJwt(body.access_token).jti);
  });
});
