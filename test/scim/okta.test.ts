import { afterEach, describe, expect, it } from 'vitest';
import {
  PATCH_SCHEMA,
  USER_SCHEMA,
  oktaUser,
  startScimBroker,
  type ScimTestBroker,
} from './scim-broker.js';

// The requests Okta's SCIM 2.0 integration sends, in its order: it looks the
// person up by userName, creates them, deactivates with a path-less PATCH,
// reactivates, pushes profile changes with PUT, and (when the admin deletes
// the app user) reads them back. Shapes from Okta's "SCIM 2.0 protocol" guide.

let t: ScimTestBroker;
afterEach(() => t?.cleanup());

const filterFor = (userName: string) =>
  `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`;

describe('SCIM as Okta provisions', () => {
  it('looks a person up, creates them, deactivates, reactivates and replaces them', async () => {
    t = await startScimBroker();
    const none = await t.scim('GET', filterFor('alice@example.com'));
    expect(none.status).toBe(200);
    expect(none.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(await none.json()).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    const created = await t.scim('POST', '/Users', oktaUser());
    expect(created.status).toBe(201);
    const user = await created.json();
    expect(created.headers.get('location')).toBe(`https://broker.test/scim/v2/Users/${user.id}`);
    expect(user).toMatchObject({
      schemas: [USER_SCHEMA],
      userName: 'alice@example.com',
      active: true,
      externalId: '00ujl29u0le5T6Aj10h7',
      name: { givenName: 'Alice', familyName: 'Smith' },
      meta: {
        resourceType: 'User',
        created: '2026-01-15T12:00:00.000Z',
        location: `https://broker.test/scim/v2/Users/${user.id}`,
      },
    });
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    // Okta sends the password when it syncs them; it is never stored or returned.
    expect(user).not.toHaveProperty('password');
    const [row] = await t.broker.sql('SELECT resource, subject FROM scim_users');
    expect(row!.resource).not.toContain('never-stored');
    expect(row!.subject).toBe('user:alice@example.com');

    // Filters compare userName without case, as RFC 7643 defines it.
    const found = await (await t.scim('GET', filterFor('ALICE@example.com'))).json();
    expect(found).toMatchObject({ totalResults: 1, itemsPerPage: 1 });
    expect(found.Resources[0].id).toBe(user.id);

    t.clock.advance(60);
    const off = await t.scim('PATCH', `/Users/${user.id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(off.status).toBe(200);
    expect(await off.json()).toMatchObject({
      id: user.id,
      active: false,
      meta: { lastModified: '2026-01-15T12:01:00.000Z' },
    });
    expect((await (await t.scim('GET', `/Users/${user.id}`)).json()).active).toBe(false);

    const on = await t.scim('PATCH', `/Users/${user.id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'replace', value: { active: true } }],
    });
    expect((await on.json()).active).toBe(true);

    // Okta pushes profile changes as a full PUT, id and all.
    const put = await t.scim('PUT', `/Users/${user.id}`, {
      ...oktaUser(),
      id: user.id,
      name: { givenName: 'Alicia', familyName: 'Smith' },
      displayName: 'Alicia Smith',
    });
    expect(put.status).toBe(200);
    const replaced = await put.json();
    expect(replaced).toMatchObject({ id: user.id, name: { givenName: 'Alicia' }, active: true });
    expect(replaced.meta.created).toBe(user.meta.created);

    const events = (await t.broker.store.queryAudit({})).map((e) => e.event);
    expect(events.filter((e) => e.startsWith('scim.'))).toEqual([
      'scim.user.created',
      'scim.user.deactivated',
      'scim.user.activated',
      'scim.user.updated',
    ]);
  });

  it('pages through users with startIndex and count, and deletes with 204 then 404', async () => {
    t = await startScimBroker();
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const res = await t.scim('POST', '/Users', oktaUser(`${name}@example.com`));
      ids.push((await res.json()).id);
    }
    const page = await (await t.scim('GET', '/Users?startIndex=2&count=1')).json();
    expect(page).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect(page.Resources.map((u: { id: string }) => u.id)).toEqual([ids[1]]);

    expect((await t.scim('DELETE', `/Users/${ids[0]}`)).status).toBe(204);
    const gone = await t.scim('GET', `/Users/${ids[0]}`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ status: '404' });
    expect((await t.scim('DELETE', `/Users/${ids[0]}`)).status).toBe(404);
    expect((await (await t.scim('GET', '/Users')).json()).totalResults).toBe(2);
  });
});
