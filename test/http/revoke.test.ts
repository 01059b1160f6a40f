import { afterEach, describe, expect, it } from 'vitest';
import {
  EXCHANGE,
  form,
  introspect,
  mintFor,
  startBroker,
  type TestBroker,
} from '../helpers/broker.js';

let broker: TestBroker;
afterEach(() => broker.cleanup());

// What revocation answers over HTTP is in test/contract/token-lifecycle.test.ts,
// run against Node and Workers alike; here, what needs the database or a restart.
describe('revocation (RFC 7009)', () => {
  it('survives closing and reopening the database', async () => {
    broker = await startBroker();
    const minted = await mintFor(broker, ['read:models/acme/*']);
    expect((await broker.app.request('/revoke', form({ token: minted.token }))).status).toBe(200);
    broker = await broker.reopen();
    expect(await introspect(broker, minted.token)).toEqual({ active: false });
    expect((await broker.store.getToken(minted.jti))?.revokedAt).not.toBeNull();
  });

  it('writes an audit row with the token hash, never the token', async () => {
    broker = await startBroker();
    const minted = await mintFor(broker, ['read:models/acme/*']);
    await broker.app.request('/revoke', form({ token: minted.token }));
    const [row] = await broker.store.queryAudit({ event: 'token.revoked' });
    expect(row).toMatchObject({
      outcome: 'success',
      jti: minted.jti,
      subject: 'user:alice@example.com',
    });
    expect(row!.tokenSha256).toMatch(/^[0-9a-f]{64}$/);
    const all = JSON.stringify(await broker.sql('SELECT * FROM audit_events'));
    expect(all).not.toContain(minted.token);
  });
});

describe('revocation racing an exchange', () => {
  const narrow = (token: string) =>
    broker.app.request(
      '/token',
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token: token,
        subject_token_type: EXCHANGE.access,
      }),
    );

  it('revokes a token narrowed before its parent was revoked', async () => {
    broker = await startBroker();
    const parent = await mintFor(broker, ['read:models/acme/*']);
    const exchanged = await narrow(parent.token);
    expect(exchanged.status).toBe(200);
    const child = (await exchanged.json()).access_token as string;
    expect((await introspect(broker, child)).active).toBe(true);
    expect((await broker.app.request('/revoke', form({ token: parent.token }))).status).toBe(200);
    expect(await introspect(broker, child)).toEqual({ active: false });
  });

  it('refuses a narrowing whose parent is revoked after it was verified, in the issue transaction itself', async () => {
    broker = await startBroker();
    const parent = await mintFor(broker, ['read:models/acme/*']);
    // The narrowing has verified its parent (live); the revocation commits before its issue does.
    const now = Math.floor(broker.clock.now() / 1000);
    await broker.store.revokeToken(parent.jti, now, {
      time: now,
      event: 'token.revoked',
      outcome: 'success',
      jti: parent.jti,
    });
    expect(
      await broker.minter.mint({
        subject: 'user:alice@example.com',
        scopes: ['read:models/acme/bert'],
        ttlSeconds: 60,
        clientId: 'test',
        source: 'exchange',
        parentJti: parent.jti,
        audit: { source: 'exchange' },
      }),
    ).toEqual({ refused: 'parent_revoked' });
    const rows = await broker.sql(
      'SELECT count(*) AS n FROM issued_tokens WHERE parent_jti = ?',
      parent.jti,
    );
    expect(rows).toEqual([{ n: 0 }]);
    expect((await narrow(parent.token)).status).toBe(400); // and the endpoint refuses it outright
  });
});
