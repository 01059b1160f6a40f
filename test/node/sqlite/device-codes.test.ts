import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { DeviceDecision, Store } from '../../../src/store/types.js';
import {
  auditRow as audit,
  deviceRow,
  storeFiles,
  tokenRow as token,
} from '../../helpers/store.js';

// The device flow's rows (RFC 8628) in the real SQLite store, through its
// writer thread: what the grant and the approval page rely on.

const files = storeFiles();

const approve = (at: number): DeviceDecision => ({
  status: 'approved',
  subject: 'user:alice@example.com',
  approvedScopes: ['read:models/acme/m'],
  approverClaims: { groups: ['ml-engineers'] },
  at,
});
const deny = (at: number): DeviceDecision => ({
  status: 'denied',
  subject: 'user:alice@example.com',
  at,
});

describe('device codes in the SQLite store', () => {
  it('stores a request under its device code hash and finds it by its user code, pending', async () => {
    const { store } = files.open();
    expect(
      await store.createDeviceCode(deviceRow('h1', { clientId: 'cli', ttlSeconds: 900 })),
    ).toBe(true);
    expect(await store.getDeviceCodeByUserCode('BCDFGHJK')).toEqual({
      ...deviceRow('h1', { clientId: 'cli', ttlSeconds: 900 }),
      status: 'pending',
      lastPollAt: null,
      subject: null,
      approvedScopes: null,
      approverClaims: null,
      decidedAt: null,
      jti: null,
    });
    expect(await store.getDeviceCodeByUserCode('BCDFGHJL')).toBeUndefined();
  });

  it('refuses a user code a live request holds, and hands over the code of an expired one', async () => {
    const { store } = files.open();
    expect(await store.createDeviceCode(deviceRow('h1'))).toBe(true);
    expect(await store.createDeviceCode(deviceRow('h2', { createdAt: 1599 }))).toBe(false);
    expect((await store.getDeviceCodeByUserCode('BCDFGHJK'))?.deviceCodeSha256).toBe('h1');
    expect(
      await store.createDeviceCode(deviceRow('h3', { createdAt: 1600, expiresAt: 2200 })),
    ).toBe(true);
    expect((await store.getDeviceCodeByUserCode('BCDFGHJK'))?.deviceCodeSha256).toBe('h3');
  });

  it('answers a poll sooner than the interval with tooFast and 5 s more, for this and later polls', async () => {
    const { store } = files.open();
    await store.createDeviceCode(deviceRow('h1'));
    expect(await store.pollDeviceCode('unknown', 1000)).toBeUndefined();
    const poll = async (at: number) => {
      const p = (await store.pollDeviceCode('h1', at))!;
      return { tooFast: p.tooFast, interval: p.code.interval, lastPollAt: p.code.lastPollAt };
    };
    expect(await poll(1000)).toEqual({ tooFast: false, interval: 5, lastPollAt: 1000 });
    expect(await poll(1005)).toEqual({ tooFast: false, interval: 5, lastPollAt: 1005 });
    expect(await poll(1008)).toEqual({ tooFast: true, interval: 10, lastPollAt: 1008 });
    expect(await poll(1017)).toEqual({ tooFast: true, interval: 15, lastPollAt: 1017 });
    expect(await poll(1032)).toEqual({ tooFast: false, interval: 15, lastPollAt: 1032 });
  });

  it('agrees on concurrent polls: of two at the same second, one is too fast', async () => {
    const { store } = files.open();
    await store.createDeviceCode(deviceRow('h1'));
    await store.pollDeviceCode('h1', 1000);
    const both = await Promise.all([
      store.pollDeviceCode('h1', 1010),
      store.pollDeviceCode('h1', 1010),
    ]);
    expect(both.map((p) => p!.tooFast)).toEqual([false, true]);
  });

  it('records no poll on a request that is no longer pending', async () => {
    const { store } = files.open();
    await store.createDeviceCode(deviceRow('h1'));
    await store.pollDeviceCode('h1', 1000);
    await store.decideDeviceCode('h1', deny(1001), audit('device.denied'));
    const polled = (await store.pollDeviceCode('h1', 1002))!;
    expect(polled).toMatchObject({ tooFast: false, code: { status: 'denied', lastPollAt: 1000 } });
  });

  it('decides a pending, live request once, writing its audit row in the same transaction', async () => {
    const { store } = files.open();
    await store.createDeviceCode(deviceRow('h1'));
    expect(await store.decideDeviceCode('h1', approve(1100), audit('device.approved'))).toBe(true);
    expect(await store.decideDeviceCode('h1', deny(1101), audit('device.denied'))).toBe(false);
    expect(await store.getDeviceCodeByUserCode('BCDFGHJK')).toMatchObject({
      status: 'approved',
      subject: 'user:alice@example.com',
      approvedScopes: ['read:models/acme/m'],
      approverClaims: { groups: ['ml-engineers'] },
      decidedAt: 1100,
    });
    expect((await store.queryAudit({})).map((r) => r.event)).toEqual(['device.approved']);
  });

  it('decides nothing once the request has expired', async () => {
    const { store } = files.open();
    await store.createDeviceCode(deviceRow('h1'));
    expect(await store.decideDeviceCode('h1', approve(1600), audit('device.approved'))).toBe(false);
    expect(await store.queryAudit({})).toEqual([]);
    expect((await store.getDeviceCodeByUserCode('BCDFGHJK'))?.status).toBe('pending');
  });

  it('redeems an approved code with the issue: of two redemptions in one batch exactly one issues', async () => {
    const { store } = files.open();
    await store.createDeviceCode(deviceRow('h1'));
    await store.decideDeviceCode('h1', approve(1100), audit('device.approved'));
    const once = { deviceCodeSha256: 'h1', at: 1105 };
    // Issued in the same turn: one batch, one transaction, a savepoint each.
    const both = await Promise.all([
      store.recordIssue(token('t1'), audit('token.issued', { jti: 't1' }), once),
      store.recordIssue(token('t2'), audit('token.issued', { jti: 't2' }), once),
    ]);
    expect(both).toEqual(['issued', 'replayed']);
    expect((await store.listTokens({})).map((t) => t.jti)).toEqual(['t1']);
    expect(await store.queryAudit({ event: 'token.issued' })).toHaveLength(1);
    expect(await store.getDeviceCodeByUserCode('BCDFGHJK')).toMatchObject({
      status: 'redeemed',
      jti: 't1',
    });
    // And in a later batch too.
    await nextTurn();
    expect(await store.recordIssue(token('t3'), audit('token.issued'), once)).toBe('replayed');
  });

  it.each([
    ['pending', async () => {}, 1105],
    ['denied', (s: Store) => s.decideDeviceCode('h1', deny(1100), audit('d')), 1105],
    [
      'approved but expired',
      (s: Store) => s.decideDeviceCode('h1', approve(1100), audit('a')),
      1600,
    ],
  ])('redeems no code that is %s', async (_name, setup, at) => {
    const { store } = files.open();
    await store.createDeviceCode(deviceRow('h1'));
    await setup(store);
    const once = { deviceCodeSha256: 'h1', at };
    expect(await store.recordIssue(token('t1'), audit('token.issued'), once)).toBe('replayed');
    expect(await store.listTokens({})).toEqual([]);
  });

  it('prunes requests an hour past their expiry with the other expired rows, and keeps the rest', async () => {
    const { store } = files.open();
    await store.createDeviceCode(deviceRow('old'));
    await store.createDeviceCode(
      deviceRow('new', { userCode: 'CDFGHJKL', createdAt: 1500, expiresAt: 2100 }),
    );
    const old = (await store.getDeviceCodeByUserCode('BCDFGHJK'))!;
    // Expired, but a device polling late is still told expired_token rather than "unknown code".
    expect(await store.prune(old.expiresAt + 3599, 10_000)).toMatchObject({ deviceCodes: 0 });
    expect(await store.prune(old.expiresAt + 3600, 10_000)).toMatchObject({ deviceCodes: 1 });
    expect(await store.getDeviceCodeByUserCode('BCDFGHJK')).toBeUndefined();
    expect(await store.getDeviceCodeByUserCode('CDFGHJKL')).toBeDefined();
  });
});
