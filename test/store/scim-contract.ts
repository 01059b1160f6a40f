import { describe, expect, it } from 'vitest';
import type { ScimUser, Store } from '../../src/store/types.js';
import { auditRow as audit, deviceRow, tokenRow as token } from '../helpers/rows.js';

/**
 * The SCIM users every Store keeps, run from describeStore (test/store/contract.ts)
 * against SQLite in Node and D1 in workerd.
 */
export function describeScimStore(name: string, open: () => Promise<Store>): void {
  const alice = 'user:alice@example.com';
  const user = (id: string, extra: Partial<ScimUser> = {}): ScimUser => ({
    id,
    userName: 'Alice@Example.com',
    userNameKey: 'alice@example.com',
    subject: alice,
    externalId: 'ext-1',
    active: true,
    resource: { userName: 'Alice@Example.com', name: { givenName: 'Alice' } },
    createdAt: 1000,
    lastModified: 1000,
    version: 1,
    ...extra,
  });
  const create = (store: Store, u: ScimUser, endAccess: string[] = []) =>
    store.writeScimUser({
      op: 'create',
      user: u,
      endAccess,
      at: u.createdAt,
      audit: audit('scim.user.created'),
    });
  const replace = (store: Store, u: ScimUser, readVersion: number, endAccess: string[] = []) =>
    store.writeScimUser({
      op: 'replace',
      user: u,
      readVersion,
      endAccess,
      at: u.lastModified,
      audit: audit('scim.user.replaced', { time: u.lastModified, detail: { scim_id: u.id } }),
    });
  const written = { outcome: 'written', revoked: [], sessionsEnded: 0 };

  describe(`${name} store: SCIM users`, () => {
    it('creates a user, reads it back, and finds it by userName, externalId and id', async () => {
      const store = await open();
      expect(await create(store, user('u1'))).toEqual(written);
      await create(
        store,
        user('u2', {
          userName: 'bob',
          userNameKey: 'bob',
          subject: 'user:b@x.io',
          externalId: null,
        }),
      );
      expect(await store.getScimUser('u1')).toEqual(user('u1'));
      expect(await store.getScimUser('nope')).toBeUndefined();
      const ids = async (f: Parameters<Store['listScimUsers']>[0]) => {
        const { total, users } = await store.listScimUsers(f);
        return { total, ids: users.map((u) => u.id) };
      };
      expect(await ids({ offset: 0, limit: 10 })).toEqual({ total: 2, ids: ['u1', 'u2'] });
      expect(await ids({ offset: 1, limit: 10 })).toEqual({ total: 2, ids: ['u2'] });
      expect(await ids({ offset: 0, limit: 1 })).toEqual({ total: 2, ids: ['u1'] });
      expect(await ids({ userNameKey: 'alice@example.com', offset: 0, limit: 10 })).toEqual({
        total: 1,
        ids: ['u1'],
      });
      expect(await ids({ externalId: 'ext-1', offset: 0, limit: 10 })).toEqual({
        total: 1,
        ids: ['u1'],
      });
      expect(await ids({ id: 'u2', offset: 0, limit: 10 })).toEqual({ total: 1, ids: ['u2'] });
      expect(await ids({ userNameKey: 'carol', offset: 0, limit: 10 })).toEqual({
        total: 0,
        ids: [],
      });
      expect(await store.scimStanding(alice)).toEqual({ active: true, deleted: false });
      expect(await store.scimStanding('user:nobody@x.io')).toBeUndefined();
      expect(await store.queryAudit({ event: 'scim.user.created' })).toHaveLength(2);
    });

    it('refuses a second live user with the same userName or person, and writes nothing', async () => {
      const store = await open();
      await create(store, user('u1'));
      expect(await create(store, user('u2', { subject: 'user:other@x.io' }))).toEqual({
        outcome: 'conflict',
        attribute: 'userName',
      });
      expect(await create(store, user('u3', { userName: 'a2', userNameKey: 'a2' }))).toEqual({
        outcome: 'conflict',
        attribute: 'subject',
      });
      expect(
        await create(
          store,
          user('u1', { userName: 'x', userNameKey: 'x', subject: 'user:x@x.io' }),
        ),
      ).toEqual({
        outcome: 'conflict',
        attribute: 'id',
      });
      await create(store, user('u4', { userName: 'b', userNameKey: 'b', subject: 'user:b@x.io' }));
      expect(await replace(store, user('u4', { lastModified: 1100 }), 1)).toEqual({
        outcome: 'conflict',
        attribute: 'userName',
      });
      expect((await store.listScimUsers({ offset: 0, limit: 10 })).total).toBe(2);
      expect(await store.queryAudit({ event: 'scim.user.replaced' })).toEqual([]);
    });

    it('replaces only the version it read: a stale or unknown user writes nothing', async () => {
      const store = await open();
      await create(store, user('u1'));
      const renamed = user('u1', { userName: 'alice2', userNameKey: 'alice2', lastModified: 1100 });
      expect(await replace(store, renamed, 1)).toEqual(written);
      expect(await store.getScimUser('u1')).toEqual({ ...renamed, version: 2 });
      expect(await replace(store, user('u1', { lastModified: 1200 }), 1)).toEqual({
        outcome: 'stale',
      });
      expect(await replace(store, user('zz'), 1)).toEqual({ outcome: 'not_found' });
      expect((await store.getScimUser('u1'))?.userName).toBe('alice2');
      expect(await store.queryAudit({ event: 'scim.user.replaced' })).toHaveLength(1);
    });

    it('writes exactly one of two concurrent replaces made from the same version', async () => {
      const store = await open();
      await create(store, user('u1'));
      const both = await Promise.all([
        replace(store, user('u1', { active: false, lastModified: 1100 }), 1, [alice]),
        replace(
          store,
          user('u1', { resource: { userName: 'Alice@Example.com' }, lastModified: 1100 }),
          1,
        ),
      ]);
      expect(both.map((o) => o.outcome).sort()).toEqual(['stale', 'written']);
      expect((await store.getScimUser('u1'))?.version).toBe(2);
      expect(await store.queryAudit({ event: 'scim.user.replaced' })).toHaveLength(1);
    });

    it("ends a person's sessions, approved device codes and live tokens with what was narrowed from them, in the write that deactivates them", async () => {
      const store = await open();
      await create(store, user('u1'));
      await store.recordIssue(token('a1'), audit('token.issued'));
      await store.recordIssue(
        token('a2', { parentJti: 'a1', source: 'exchange' }),
        audit('token.issued'),
      );
      await store.recordIssue(token('old', { expiresAt: 1100 }), audit('token.issued'));
      await store.recordIssue(token('b1', { subject: 'user:bob@x.io' }), audit('token.issued'));
      for (const [id, subject] of [
        ['s1', alice],
        ['s2', alice],
        ['s3', 'user:bob@x.io'],
      ] as const) {
        await store.createSession({
          idSha256: id,
          subject,
          data: {},
          createdAt: 1000,
          lastSeenAt: 1000,
          expiresAt: 9000,
        });
      }
      await store.createDeviceCode(deviceRow('d1'));
      await store.decideDeviceCode(
        'd1',
        { status: 'approved', subject: alice, approvedScopes: [], approverClaims: {}, at: 1100 },
        audit('device.approved'),
      );

      const off = user('u1', { active: false, lastModified: 1200 });
      const outcome = await replace(store, off, 1, [alice]);
      expect(outcome).toMatchObject({ outcome: 'written', sessionsEnded: 2 });
      expect(outcome.outcome === 'written' && [...outcome.revoked].sort()).toEqual(['a1', 'a2']);
      expect((await store.getToken('a2'))?.revokedAt).toBe(1200);
      expect((await store.getToken('b1'))?.revokedAt).toBeNull();
      expect(await store.getSession('s1')).toBeUndefined();
      expect(await store.getSession('s3')).toBeDefined();
      expect((await store.getDeviceCodeByUserCode('BCDFGHJK'))?.status).toBe('denied');
      expect(await store.scimStanding(alice)).toEqual({ active: false, deleted: false });
      const [row] = await store.queryAudit({ event: 'scim.user.replaced' });
      const detail = row!.detail as Record<string, unknown>;
      expect({ ...detail, revoked: [...(detail.revoked as string[])].sort() }).toEqual({
        scim_id: 'u1',
        revoked: ['a1', 'a2'],
        sessions_ended: 2,
        device_codes_denied: 1,
      });
    });

    it('deletes a user and keeps the person refused, until a new user for them is created', async () => {
      const store = await open();
      await create(store, user('u1'));
      await store.createSession({
        idSha256: 's1',
        subject: alice,
        data: {},
        createdAt: 1000,
        lastSeenAt: 1000,
        expiresAt: 9000,
      });
      const del = (readVersion: number) =>
        store.writeScimUser({
          op: 'delete',
          id: 'u1',
          readVersion,
          endAccess: [alice],
          at: 1300,
          audit: audit('scim.user.deleted'),
        });
      expect(await del(2)).toEqual({ outcome: 'stale' });
      expect(await del(1)).toEqual({ outcome: 'written', revoked: [], sessionsEnded: 1 });
      expect(await del(2)).toEqual({ outcome: 'not_found' });
      expect(await store.getScimUser('u1')).toBeUndefined();
      expect((await store.listScimUsers({ offset: 0, limit: 10 })).total).toBe(0);
      expect(await store.scimStanding(alice)).toEqual({ active: false, deleted: true });

      expect(await create(store, user('u2', { createdAt: 1400, lastModified: 1400 }))).toEqual(
        written,
      );
      expect(await store.scimStanding(alice)).toEqual({ active: true, deleted: false });
      expect(await store.queryAudit({ event: 'scim.user.deleted' })).toHaveLength(1);
    });
  });
}
