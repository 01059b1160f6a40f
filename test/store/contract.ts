import { describe, expect, it } from 'vitest';
import type { DeviceDecision, Store } from '../../src/store/types.js';
import { auditRow as audit, deviceRow, tokenRow as token } from '../helpers/rows.js';
import { describeScimStore } from './scim-contract.js';

/**
 * What every Store must do, run against each implementation: SQLite in Node
 * (test/store/sqlite.test.ts) and D1 in workerd (test/workerd/d1-store.test.ts).
 * `open` gives an empty, migrated store for each test. Concurrency cases
 * start both calls before awaiting either: SQLite's writer thread then puts
 * them in one batch, D1 runs them as two batches; either way one must win.
 */
export function describeStore(name: string, open: () => Promise<Store>): void {
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
  const jtis = async (store: Store) => (await store.listTokens({})).map((t) => t.jti).sort();
  const events = async (store: Store) => (await store.queryAudit({})).map((e) => e.event);

  describe(`${name} store: issuing`, () => {
    it('records a token with its audit row and reads it back as it was written', async () => {
      const store = await open();
      const t = token('t1', { scopes: ['read:models/a/b', 'write:models/a/*'], parentJti: null });
      expect(await store.recordIssue(t, audit('token.issued', { jti: 't1' }))).toBe('issued');
      expect(await store.getToken('t1')).toEqual(t);
      expect(await store.getToken('nope')).toBeUndefined();
      const [row] = await store.queryAudit({});
      expect(row).toMatchObject({ event: 'token.issued', jti: 't1', outcome: 'success' });
    });

    it('issues a one-time key once, and writes neither row for the replay', async () => {
      const store = await open();
      const once = { key: 'ci:jti-1', expiresAt: 9000 };
      expect(await store.recordIssue(token('t1'), audit('token.issued'), once)).toBe('issued');
      expect(await store.recordIssue(token('t2'), audit('token.issued'), once)).toBe('replayed');
      expect(await jtis(store)).toEqual(['t1']);
      expect(await events(store)).toEqual(['token.issued']);
      // The key is taken for claimOnce too: one namespace of one-time values.
      expect(await store.claimOnce('ci:jti-1', 9000)).toBe(false);
    });

    it('issues exactly one of two concurrent issues with the same one-time key', async () => {
      const store = await open();
      const once = { key: 'ci:jti-1', expiresAt: 9000 };
      const both = await Promise.all([
        store.recordIssue(token('t1'), audit('token.issued', { jti: 't1' }), once),
        store.recordIssue(token('t2'), audit('token.issued', { jti: 't2' }), once),
      ]);
      expect([...both].sort()).toEqual(['issued', 'replayed']);
      expect(await store.listTokens({})).toHaveLength(1);
      expect(await store.queryAudit({ event: 'token.issued' })).toHaveLength(1);
    });

    it('narrows only a live parent: a revoked or unknown one writes nothing, not even the guard', async () => {
      const store = await open();
      await store.recordIssue(token('p'), audit('token.issued'));
      const child = (jti: string, parentJti: string) =>
        token(jti, { parentJti, source: 'exchange' });
      expect(await store.recordIssue(child('c1', 'p'), audit('token.issued'))).toBe('issued');
      await store.revokeToken('p', 1500, audit('token.revoked'));
      const once = { key: 'k', expiresAt: 9000 };
      expect(await store.recordIssue(child('c2', 'p'), audit('x'), once)).toBe('parent_revoked');
      expect(await store.recordIssue(child('c3', 'gone'), audit('x'))).toBe('parent_revoked');
      expect(await jtis(store)).toEqual(['c1', 'p']);
      expect(await store.claimOnce('k', 9000)).toBe(true);
      expect(await store.queryAudit({ event: 'x' })).toEqual([]);
    });
  });

  describe(`${name} store: revoking`, () => {
    it('revokes a token and everything narrowed from it, audited once with what it revoked', async () => {
      const store = await open();
      await store.recordIssue(token('p'), audit('token.issued'));
      await store.recordIssue(token('c', { parentJti: 'p' }), audit('token.issued'));
      await store.recordIssue(token('g', { parentJti: 'c' }), audit('token.issued'));
      await store.recordIssue(token('other'), audit('token.issued'));
      await store.revokeToken('g', 1100, audit('token.revoked'));
      const revoked = await store.revokeToken(
        'p',
        1200,
        audit('token.revoked', { detail: { by: 'holder' } }),
      );
      expect(revoked.sort()).toEqual(['c', 'p']);
      expect((await store.getToken('c'))?.revokedAt).toBe(1200);
      expect((await store.getToken('g'))?.revokedAt).toBe(1100);
      expect((await store.getToken('other'))?.revokedAt).toBeNull();
      const rows = await store.queryAudit({ event: 'token.revoked' });
      expect(rows).toHaveLength(2);
      expect(rows[1]!.detail).toEqual({ by: 'holder', revoked: expect.any(Array) });
      expect((rows[1]!.detail!.revoked as string[]).sort()).toEqual(['c', 'p']);
      // Nothing left to revoke: nothing returned, nothing audited.
      expect(await store.revokeToken('p', 1300, audit('token.revoked'))).toEqual([]);
      expect(await store.revokeToken('unknown', 1300, audit('token.revoked'))).toEqual([]);
      expect(await store.queryAudit({ event: 'token.revoked' })).toHaveLength(2);
    });

    it("revokes a subject's live tokens and approved device codes, and audits even when none was live", async () => {
      const store = await open();
      const alice = 'user:alice@example.com';
      await store.recordIssue(token('a1', { subject: alice }), audit('token.issued'));
      await store.recordIssue(
        token('a2', { subject: alice, expiresAt: 1500 }),
        audit('token.issued'),
      );
      await store.recordIssue(
        token('b1', { subject: 'user:bob@example.com' }),
        audit('token.issued'),
      );
      await store.createDeviceCode(deviceRow('d1'));
      await store.decideDeviceCode('d1', approve(1100), audit('device.approved'));

      const revoked = await store.revokeSubject(alice, 1550, audit('subject.revoked'));
      expect(revoked).toEqual(['a1']);
      expect((await store.getToken('b1'))?.revokedAt).toBeNull();
      expect((await store.getDeviceCodeByUserCode('BCDFGHJK'))?.status).toBe('denied');
      const once = { deviceCodeSha256: 'd1', at: 1560 };
      expect(await store.recordIssue(token('late'), audit('token.issued'), once)).toBe('replayed');

      expect(await store.revokeSubject(alice, 1560, audit('subject.revoked'))).toEqual([]);
      const rows = await store.queryAudit({ event: 'subject.revoked' });
      expect(rows.map((r) => r.detail)).toEqual([
        { revoked: ['a1'], device_codes_denied: 1 },
        { revoked: [] },
      ]);
    });
  });

  describe(`${name} store: reading`, () => {
    it('lists tokens newest first, by subject, live at a time, and up to a limit', async () => {
      const store = await open();
      await store.recordIssue(token('t1', { issuedAt: 1000 }), audit('token.issued'));
      await store.recordIssue(
        token('t2', { issuedAt: 1001, subject: 'user:bob@example.com', source: 'ci' }),
        audit('token.issued'),
      );
      await store.recordIssue(
        token('t3', { issuedAt: 1002, expiresAt: 1100 }),
        audit('token.issued'),
      );
      await store.recordIssue(token('t4', { issuedAt: 1003 }), audit('token.issued'));
      await store.revokeToken('t4', 1004, audit('token.revoked'));
      const list = async (f: Parameters<Store['listTokens']>[0]) =>
        (await store.listTokens(f)).map((t) => t.jti);
      expect(await list({})).toEqual(['t4', 't3', 't2', 't1']);
      expect(await list({ subject: 'user:alice@example.com' })).toEqual(['t4', 't3', 't1']);
      expect(await list({ activeAt: 1200 })).toEqual(['t2', 't1']);
      expect(await list({ limit: 2 })).toEqual(['t4', 't3']);
      expect(await list({ source: 'web' })).toEqual(['t4', 't3', 't1']);
      expect(await list({ source: 'ci', activeAt: 1200 })).toEqual(['t2']);
    });

    it('queries the audit log in order, by time, subject, outcome and event', async () => {
      const store = await open();
      await store.appendAudit(audit('a', { time: 1000, subject: 's1', detail: { n: 1 } }));
      await store.appendAudit(
        audit('b', { time: 1001, subject: 's2', outcome: 'denied', scopes: ['x'] }),
      );
      await store.appendAudit(
        audit('a', { time: 1002, subject: 's1', clientAddress: '192.0.2.9' }),
      );
      const names = async (f: Parameters<Store['queryAudit']>[0]) =>
        (await store.queryAudit(f)).map((e) => `${e.event}@${e.time}`);
      expect(await names({})).toEqual(['a@1000', 'b@1001', 'a@1002']);
      expect(await names({ since: 1001 })).toEqual(['b@1001', 'a@1002']);
      expect(await names({ subject: 's1' })).toEqual(['a@1000', 'a@1002']);
      expect(await names({ outcome: 'denied' })).toEqual(['b@1001']);
      expect(await names({ event: 'a', limit: 1 })).toEqual(['a@1000']);
      const [first, second, third] = await store.queryAudit({});
      expect(first).toMatchObject({ detail: { n: 1 }, scopes: null, reason: null });
      expect(second).toMatchObject({ scopes: ['x'], detail: null });
      expect(third).toMatchObject({ clientAddress: '192.0.2.9' });
      expect(first!.id).toBeLessThan(second!.id);
      // A cursor pages through the log: the rows after an id, in order.
      expect(await names({ afterId: first!.id, limit: 1 })).toEqual(['b@1001']);
      expect(await names({ afterId: third!.id })).toEqual([]);
    });

    it('claims a one-time value once', async () => {
      const store = await open();
      expect(await store.claimOnce('saml:id-1', 2000)).toBe(true);
      expect(await store.claimOnce('saml:id-1', 2000)).toBe(false);
      expect(await store.claimOnce('saml:id-2', 2000)).toBe(true);
    });
  });

  describe(`${name} store: keys, sessions, pruning`, () => {
    it('adds keys, retiring the current one, and prunes retired keys no live token was signed with', async () => {
      const store = await open();
      const key = (kid: string, createdAt: number) => ({
        kid,
        alg: 'ES256',
        privateJwk: { kty: 'EC', kid, d: 'secret' },
        publicJwk: { kty: 'EC', kid },
        createdAt,
      });
      await store.addKey(key('k1', 1000));
      await store.recordIssue(token('t1', { kid: 'k1', expiresAt: 5000 }), audit('token.issued'));
      await store.addKey(key('k2', 2000), 2000);
      await store.addKey(key('k3', 3000), 3000);
      const keys = await store.listKeys();
      expect(keys.map((k) => [k.kid, k.retiredAt, k.lastTokenExpiry])).toEqual([
        ['k3', null, null],
        ['k2', 3000, null],
        ['k1', 2000, 5000],
      ]);
      expect(keys[0]!.privateJwk).toEqual({ kty: 'EC', kid: 'k3', d: 'secret' });
      expect(await store.pruneKeys(4000)).toEqual(['k2']);
      expect(await store.pruneKeys(5000)).toEqual(['k1']);
      expect((await store.listKeys()).map((k) => k.kid)).toEqual(['k3']);
    });

    it('keeps sessions by the hash of their id, touches and ends them, one or all of a subject', async () => {
      const store = await open();
      const session = (idSha256: string, subject = 'user:alice@example.com') => ({
        idSha256,
        subject,
        data: { csrf: 'c', claims: { groups: ['g'] } },
        createdAt: 1000,
        lastSeenAt: 1000,
        expiresAt: 5000,
      });
      await store.createSession(session('s1'));
      await store.createSession(session('s2'));
      await store.createSession(session('s3', 'user:bob@example.com'));
      expect(await store.getSession('s1')).toEqual(session('s1'));
      await store.touchSession('s1', 1200);
      expect((await store.getSession('s1'))?.lastSeenAt).toBe(1200);
      await store.deleteSession('s1');
      expect(await store.getSession('s1')).toBeUndefined();
      expect(await store.deleteSubjectSessions('user:alice@example.com')).toBe(1);
      expect(await store.getSession('s3')).toBeDefined();
    });

    it('counts the sessions neither expired nor idle, for the live-sessions gauge', async () => {
      const store = await open();
      const session = (idSha256: string, lastSeenAt: number, expiresAt: number) => ({
        idSha256,
        subject: 'user:alice@example.com',
        data: { csrf: 'c' },
        createdAt: 1000,
        lastSeenAt,
        expiresAt,
      });
      await store.createSession(session('fresh', 1900, 5000));
      await store.createSession(session('idle', 1100, 5000));
      await store.createSession(session('expired', 1990, 2000));
      expect(await store.countLiveSessions(1000, 0)).toBe(3);
      // At 2000 with a 600 s idle timeout: seen after 1400, expiring after 2000.
      expect(await store.countLiveSessions(2000, 1400)).toBe(1);
      expect(await store.countLiveSessions(5000, 0)).toBe(0);
    });

    it('lists live sessions newest first, by subject, up to a limit, without their id hash or content', async () => {
      const store = await open();
      const session = (
        idSha256: string,
        subject: string,
        createdAt: number,
        lastSeenAt: number,
      ) => ({
        idSha256,
        subject,
        data: { csrf: `csrf-${idSha256}` },
        createdAt,
        lastSeenAt,
        expiresAt: createdAt + 4000,
      });
      await store.createSession(session('a1', 'user:alice@example.com', 1000, 1900));
      await store.createSession(session('b1', 'user:bob@example.com', 1100, 1950));
      await store.createSession(session('a2', 'user:alice@example.com', 1200, 1300));
      await store.createSession(session('old', 'user:carol@example.com', -3000, 950));
      // At 2000 with a 600 s idle timeout: a2 is idle, old has expired.
      const live = await store.listLiveSessions({ now: 2000, seenAfter: 1400 });
      expect(live).toEqual([
        { subject: 'user:bob@example.com', createdAt: 1100, lastSeenAt: 1950, expiresAt: 5100 },
        { subject: 'user:alice@example.com', createdAt: 1000, lastSeenAt: 1900, expiresAt: 5000 },
      ]);
      const all = await store.listLiveSessions({ now: 1000, seenAfter: 0 });
      expect(all.map((s) => s.createdAt)).toEqual([1200, 1100, 1000]);
      expect(
        (
          await store.listLiveSessions({
            now: 1000,
            seenAfter: 0,
            subject: 'user:alice@example.com',
          })
        ).map((s) => s.createdAt),
      ).toEqual([1200, 1000]);
      expect(await store.listLiveSessions({ now: 1000, seenAfter: 0, limit: 1 })).toHaveLength(1);
      expect(JSON.stringify(all)).not.toMatch(/csrf|a1|idSha256/);
    });

    it('queries the audit log newest first, the limit keeping the newest rows', async () => {
      const store = await open();
      for (const t of [1000, 1001, 1002]) await store.appendAudit(audit('a', { time: t }));
      const times = async (f: Parameters<Store['queryAudit']>[0]) =>
        (await store.queryAudit(f)).map((e) => e.time);
      expect(await times({ newestFirst: true })).toEqual([1002, 1001, 1000]);
      expect(await times({ newestFirst: true, limit: 2 })).toEqual([1002, 1001]);
      expect(await times({ limit: 2 })).toEqual([1000, 1001]);
    });

    it("ends a subject's sessions with their audit row in one write, the count in its detail", async () => {
      const store = await open();
      const session = (idSha256: string, subject: string) => ({
        idSha256,
        subject,
        data: {},
        createdAt: 1000,
        lastSeenAt: 1000,
        expiresAt: 5000,
      });
      await store.createSession(session('s1', 'user:alice@example.com'));
      await store.createSession(session('s2', 'user:alice@example.com'));
      await store.createSession(session('s3', 'user:bob@example.com'));
      const row = audit('session.ended', {
        subject: 'user:alice@example.com',
        detail: { actor: 'x' },
      });
      expect(await store.deleteSubjectSessions('user:alice@example.com', row)).toBe(2);
      expect(await store.getSession('s1')).toBeUndefined();
      expect(await store.getSession('s3')).toBeDefined();
      expect((await store.queryAudit({ event: 'session.ended' })).map((r) => r.detail)).toEqual([
        { actor: 'x', sessions: 2 },
      ]);
      // Without a row to write, nothing is audited.
      expect(await store.deleteSubjectSessions('user:bob@example.com')).toBe(1);
      expect(await store.queryAudit({ event: 'session.ended' })).toHaveLength(1);
    });

    it('prunes expired guards, tokens, sessions, device codes an hour past expiry, and old audit rows', async () => {
      const store = await open();
      await store.claimOnce('old', 1000);
      await store.claimOnce('new', 3000);
      await store.recordIssue(
        token('t1', { expiresAt: 1500 }),
        audit('token.issued', { time: 900 }),
      );
      await store.recordIssue(
        token('t2', { expiresAt: 5000 }),
        audit('token.issued', { time: 1900 }),
      );
      await store.createSession({
        idSha256: 's',
        subject: 'x',
        data: {},
        createdAt: 1,
        lastSeenAt: 1,
        expiresAt: 1999,
      });
      await store.createDeviceCode(deviceRow('old', { expiresAt: 2000 - 3600 }));
      await store.createDeviceCode(deviceRow('late', { userCode: 'CDFGHJKL', expiresAt: 1601 }));
      expect(await store.prune(2000, 1000)).toEqual({
        replayGuards: 1,
        tokens: 1,
        sessions: 1,
        deviceCodes: 1,
        auditEvents: 1,
      });
      expect(await store.claimOnce('old', 3000)).toBe(true);
      expect(await store.claimOnce('new', 3000)).toBe(false);
      expect(await jtis(store)).toEqual(['t2']);
      expect(await store.getDeviceCodeByUserCode('CDFGHJKL')).toBeDefined();
    });

    it('is ready when it answers and can be written', async () => {
      const store = await open();
      expect(await store.readiness()).toEqual([]);
    });
  });

  describe(`${name} store: device codes`, () => {
    it('stores a request under its device code hash and finds it by its user code, pending', async () => {
      const store = await open();
      const row = deviceRow('h1', { clientId: 'cli', ttlSeconds: 900 });
      expect(await store.createDeviceCode(row)).toBe(true);
      expect(await store.getDeviceCodeByUserCode('BCDFGHJK')).toEqual({
        ...row,
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
      const store = await open();
      expect(await store.createDeviceCode(deviceRow('h1'))).toBe(true);
      expect(await store.createDeviceCode(deviceRow('h2', { createdAt: 1599 }))).toBe(false);
      expect((await store.getDeviceCodeByUserCode('BCDFGHJK'))?.deviceCodeSha256).toBe('h1');
      const next = deviceRow('h3', { createdAt: 1600, expiresAt: 2200 });
      expect(await store.createDeviceCode(next)).toBe(true);
      expect((await store.getDeviceCodeByUserCode('BCDFGHJK'))?.deviceCodeSha256).toBe('h3');
    });

    it('counts the live requests, all of them or those of one client address', async () => {
      const store = await open();
      await store.createDeviceCode(deviceRow('h1'));
      await store.createDeviceCode(deviceRow('h2', { userCode: 'CDFGHJKL', clientAddress: null }));
      await store.createDeviceCode(deviceRow('h3', { userCode: 'DFGHJKLM', expiresAt: 1200 }));
      expect(await store.countLiveDeviceCodes(1100)).toBe(3);
      expect(await store.countLiveDeviceCodes(1200)).toBe(2);
      expect(await store.countLiveDeviceCodes(1200, '192.0.2.1')).toBe(1);
      expect(await store.countLiveDeviceCodes(1200, null)).toBe(1);
    });

    it('answers a poll sooner than the interval with tooFast and 5 s more, for this and later polls', async () => {
      const store = await open();
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
      const store = await open();
      await store.createDeviceCode(deviceRow('h1'));
      await store.pollDeviceCode('h1', 1000);
      const both = await Promise.all([
        store.pollDeviceCode('h1', 1010),
        store.pollDeviceCode('h1', 1010),
      ]);
      expect(both.map((p) => p!.tooFast).sort()).toEqual([false, true]);
    });

    it('records no poll on a request that is no longer pending', async () => {
      const store = await open();
      await store.createDeviceCode(deviceRow('h1'));
      await store.pollDeviceCode('h1', 1000);
      await store.decideDeviceCode('h1', deny(1001), audit('device.denied'));
      const polled = (await store.pollDeviceCode('h1', 1002))!;
      expect(polled).toMatchObject({
        tooFast: false,
        code: { status: 'denied', lastPollAt: 1000 },
      });
    });

    it('decides a pending, live request once, writing its audit row with the decision', async () => {
      const store = await open();
      await store.createDeviceCode(deviceRow('h1'));
      const decisions = await Promise.all([
        store.decideDeviceCode('h1', approve(1100), audit('device.approved')),
        store.decideDeviceCode('h1', approve(1100), audit('device.approved')),
      ]);
      expect([...decisions].sort()).toEqual([false, true]);
      expect(await store.decideDeviceCode('h1', deny(1101), audit('device.denied'))).toBe(false);
      expect(await store.getDeviceCodeByUserCode('BCDFGHJK')).toMatchObject({
        status: 'approved',
        subject: 'user:alice@example.com',
        approvedScopes: ['read:models/acme/m'],
        approverClaims: { groups: ['ml-engineers'] },
        decidedAt: 1100,
      });
      expect(await events(store)).toEqual(['device.approved']);
    });

    it('decides nothing once the request has expired', async () => {
      const store = await open();
      await store.createDeviceCode(deviceRow('h1'));
      expect(await store.decideDeviceCode('h1', approve(1600), audit('device.approved'))).toBe(
        false,
      );
      expect(await store.queryAudit({})).toEqual([]);
      expect((await store.getDeviceCodeByUserCode('BCDFGHJK'))?.status).toBe('pending');
    });

    it('redeems an approved code with the issue: of two concurrent redemptions exactly one issues', async () => {
      const store = await open();
      await store.createDeviceCode(deviceRow('h1'));
      await store.decideDeviceCode('h1', approve(1100), audit('device.approved'));
      const once = { deviceCodeSha256: 'h1', at: 1105 };
      const both = await Promise.all([
        store.recordIssue(token('t1'), audit('token.issued', { jti: 't1' }), once),
        store.recordIssue(token('t2'), audit('token.issued', { jti: 't2' }), once),
      ]);
      expect([...both].sort()).toEqual(['issued', 'replayed']);
      const [winner] = await jtis(store);
      expect(await store.queryAudit({ event: 'token.issued' })).toHaveLength(1);
      expect(await store.getDeviceCodeByUserCode('BCDFGHJK')).toMatchObject({
        status: 'redeemed',
        jti: winner,
      });
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
      const store = await open();
      await store.createDeviceCode(deviceRow('h1'));
      await setup(store);
      const once = { deviceCodeSha256: 'h1', at };
      expect(await store.recordIssue(token('t1'), audit('token.issued'), once)).toBe('replayed');
      expect(await store.listTokens({})).toEqual([]);
    });
  });

  describeScimStore(name, open);
}
