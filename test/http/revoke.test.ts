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

describe('revocation (RFC 7009)', () => {
  it('survives closing and reopening the database', async () => {
    broker = await startBroker();
    const minted = await mintFor(broker, ['read:models/acme/*']);
    expect((await broker.app.request('/revoke', form({ token: minted.token }))).status).toBe(200);
    broker = await broker.reopen();
    expect(await introspect(broker, minted.token)).toEqual({ active: false });
    expect((await broker.store.getToken(minted.jti))?.revokedAt).not.toBeNull();
  });

  it('answers 200 for a token it does not know, so it is no oracle', async () => {
    broker = await startBroker();
    expect((await broker.app.request('/revoke', form({}))).status).toBe(200);
    for (const token of ['garbage', 'a.b.c']) {
      const res = await broker.app.request('/revoke', form({ token }));
      expect(res.status).toBe(200);
    }
  });

  it('revokes every token narrowed from the revoked one', async () => {
    broker = await startBroker();
    const parent = await mintFor(broker, ['read:models/acme/*']);
    const res = await broker.app.request(
      '/token',
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token: parent.token,
        subject_token_type: EXCHANGE.access,
        scope: 'read:models/acme/bert',
      }),
    );
    const child = (await res.json()).access_token as string;
    expect((await introspect(broker, child)).active).toBe(true);
    await broker.app.request('/revoke', form({ token: parent.token }));
    expect(await introspect(broker, child)).toEqual({ active: false });
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
    const all = JSON.stringify(broker.store.db.prepare('SELECT * FROM audit_events').all());
    expect(all).not.toContain(minted.token);
  });
});

describe('revocation racing an exchange', () => {
  it('never leaves a token narrowed from a revoked parent active', async () => {
    broker = await startBroker();
    for (let i = 0; i < 30; i++) {
      const parent = await mintFor(broker, ['read:models/acme/*']);
      const [exchanged] = await Promise.all([
        broker.app.request(
          '/token',
          form({
            grant_type: EXCHANGE.grant_type,
            subject_token: parent.token,
            subject_token_type: EXCHANGE.access,
          }),
        ),
        broker.app.request('/revoke', form({ token: parent.token })),
      ]);
      expect((await introspect(broker, parent.token)).active).toBe(false);
      if (exchanged.status === 200) {
        const child = (await exchanged.json()).access_token as string;
        expect(await introspect(broker, child)).toEqual({ active: false });
      } else {
        expect((await exchanged.json()).error).toBe('invalid_grant');
      }
    }
  });
});
