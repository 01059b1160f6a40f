import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXCHANGE, form, mintFor, startBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker;
beforeEach(async () => {
  broker = await startBroker();
});
afterEach(() => broker.cleanup());

const exchange = (subject_token: string, extra: Record<string, string> = {}) =>
  broker.app.request(
    '/token',
    form({
      grant_type: EXCHANGE.grant_type,
      subject_token,
      subject_token_type: EXCHANGE.access,
      ...extra,
    }),
  );

// What narrowing answers over HTTP is in test/contract/token-lifecycle.test.ts,
// run against Node and Workers alike; here, what needs the clock or the audit log.
describe('down-scoping a tokenbroker token', () => {
  it('never lets the new token outlive the one it came from', async () => {
    const parent = await mintFor(broker, ['read:models/acme/*'], 900);
    broker.clock.advance(600);
    const body = await (await exchange(parent.token, { ttl: '1h' })).json();
    expect(body.expires_in).toBe(300);
    expect(decodeJwt(body.access_token).exp).toBe(parent.expiresAt);
  });

  it('refuses an expired or revoked subject token with invalid_grant, naming the check in the audit row', async () => {
    const parent = await mintFor(broker, ['read:models/acme/*'], 60);
    broker.clock.advance(90);
    let body = await (await exchange(parent.token)).json();
    expect(body).toEqual({
      error: 'invalid_grant',
      error_description: 'token expired 30s ago: get a new one',
    });

    const other = await mintFor(broker, ['read:models/acme/*']);
    await broker.app.request('/revoke', form({ token: other.token }));
    body = await (await exchange(other.token)).json();
    expect(body).toEqual({
      error: 'invalid_grant',
      error_description: 'token has been revoked: get a new one',
    });
    // Each denial row names the check that refused it.
    const rows = await broker.store.queryAudit({ outcome: 'denied' });
    expect(rows.map((r) => r.detail?.check).sort()).toEqual(['exp', 'revoked']);
  });

  it('records a denial in the audit log with the reason and the token hash', async () => {
    const parent = await mintFor(broker, ['read:models/acme/*']);
    await exchange(parent.token, { scope: 'write:models/acme/x' });
    const [row] = await broker.store.queryAudit({ outcome: 'denied' });
    expect(row).toMatchObject({
      event: 'token.denied',
      subject: 'user:alice@example.com',
      scopes: ['write:models/acme/x'],
    });
    expect(row!.reason).toMatch(/^invalid_scope: scope write:models\/acme\/x is not granted/);
    expect(row!.tokenSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts the JSON body Hugging Face clients send, on /oauth/token', async () => {
    const parent = await mintFor(broker, ['write:models/acme/*']);
    const res = await broker.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        grant_type: EXCHANGE.grant_type,
        subject_token_type: EXCHANGE.access,
        subject_token: parent.token,
        resource: 'acme/bert',
      }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).scope).toBe('write:models/acme/bert');
  });
});
