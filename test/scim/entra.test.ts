import { afterEach, describe, expect, it } from 'vitest';
import { PATCH_SCHEMA, entraUser, startScimBroker, type ScimTestBroker } from './scim-broker.js';

// The requests Microsoft Entra ID's provisioning service sends, as its
// "Develop a SCIM endpoint" tutorial shows them: userName is the UPN, the
// address people sign in with is a work email, ops are capitalised
// ("Replace", "Add"), booleans may be the strings "True" and "False", value
// paths pick one email, and unassigning a user PATCHes active to "False".

let t: ScimTestBroker;
afterEach(() => t?.cleanup());

const patch = (id: string, ...Operations: unknown[]) =>
  t.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_SCHEMA], Operations });

describe('SCIM as Microsoft Entra ID provisions', () => {
  it('maps the user to the work email, not the UPN, folded as SAML logins fold it', async () => {
    t = await startScimBroker();
    const res = await t.scim('POST', '/Users', entraUser());
    expect(res.status).toBe(201);
    const user = await res.json();
    expect(user).toMatchObject({
      userName: 'alice@contoso.onmicrosoft.com',
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'ML' },
      meta: { resourceType: 'User' },
    });
    const [row] = await t.broker.sql('SELECT subject FROM scim_users');
    expect(row!.subject).toBe('user:alice@example.com');
    // Entra ID looks users up by externalId as well as by userName.
    const q = encodeURIComponent('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"');
    const found = await (await t.scim('GET', `/Users?filter=${q}`)).json();
    expect(found.Resources.map((u: { id: string }) => u.id)).toEqual([user.id]);
  });

  it.each([
    [
      'the primary email',
      [
        { value: 'a@w.io', type: 'work' },
        { value: 'P@x.io', primary: 'True' },
      ],
      'user:p@x.io',
    ],
    [
      'the work email',
      [
        { value: 'h@x.io', type: 'home' },
        { value: 'W@x.io', type: 'Work' },
      ],
      'user:w@x.io',
    ],
    ['the first email', [{ value: 'one@x.io' }, { value: 'two@x.io' }], 'user:one@x.io'],
    ['userName without emails', undefined, 'user:alice@contoso.onmicrosoft.com'],
  ])('maps a user to %s', async (_name, emails, subject) => {
    t = await startScimBroker();
    const body = { ...entraUser(), emails };
    expect((await t.scim('POST', '/Users', body)).status).toBe(201);
    const [row] = await t.broker.sql('SELECT subject FROM scim_users');
    expect(row!.subject).toBe(subject);
  });

  it('applies capitalised ops, string booleans, value paths and extension paths', async () => {
    t = await startScimBroker();
    const { id } = await (await t.scim('POST', '/Users', entraUser())).json();
    const res = await patch(
      id,
      { op: 'Replace', path: 'active', value: 'False' },
      { op: 'Replace', path: 'name.givenName', value: 'Alicia' },
      { op: 'Add', path: 'emails[type eq "work"].value', value: 'alicia@example.com' },
      { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
      {
        op: 'Replace',
        path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
        value: 'Research',
      },
      { op: 'Remove', path: 'displayName' },
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const user = await res.json();
    expect(user).toMatchObject({
      active: false,
      name: { givenName: 'Alicia', familyName: 'Smith' },
      emails: [{ type: 'work', value: 'alicia@example.com', primary: false }],
      phoneNumbers: [{ type: 'mobile', value: '+1 555 0100' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Research' },
    });
    expect(user).not.toHaveProperty('displayName');
    const [row] = await t.broker.sql('SELECT subject, active FROM scim_users');
    expect(row).toEqual({ subject: 'user:alicia@example.com', active: 0 });

    const back = await patch(id, { op: 'Replace', path: 'active', value: 'True' });
    expect((await back.json()).active).toBe(true);
  });

  it('finds a deactivated user by userName, with active false, as its validator checks', async () => {
    t = await startScimBroker();
    const { id } = await (await t.scim('POST', '/Users', entraUser())).json();
    await patch(id, { op: 'Replace', path: 'active', value: 'False' });
    // Spaces as +, as Entra ID encodes its query.
    const q = 'userName+eq+%22alice%40contoso.onmicrosoft.com%22';
    const found = await (await t.scim('GET', `/Users?filter=${q}`)).json();
    expect(found.Resources).toEqual([expect.objectContaining({ id, active: false })]);
  });

  it('describes itself: ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    t = await startScimBroker();
    const spc = await (await t.scim('GET', '/ServiceProviderConfig')).json();
    expect(spc).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
      etag: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
    const types = await (await t.scim('GET', '/ResourceTypes')).json();
    expect(types.Resources).toEqual([expect.objectContaining({ id: 'User', endpoint: '/Users' })]);
    const schemas = await (await t.scim('GET', '/Schemas')).json();
    expect(schemas.totalResults).toBe(1);
    const one = await t.scim('GET', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User');
    expect((await one.json()).attributes.map((a: { name: string }) => a.name)).toContain(
      'userName',
    );
  });
});
