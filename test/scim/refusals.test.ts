import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../helpers/broker.js';
import {
  ERROR_SCHEMA,
  PATCH_SCHEMA,
  SCIM_SECRET,
  USER_SCHEMA,
  oktaUser,
  startScimBroker,
  type ScimTestBroker,
} from './scim-broker.js';

// What the SCIM endpoint refuses, and how: a SCIM error body (status as a
// string, a scimType, a detail that says what to fix) as application/scim+json,
// a 4xx for anything the caller sent, and never a 5xx.

let t: ScimTestBroker;
let userId: string;
beforeAll(async () => {
  t = await startScimBroker();
  userId = (await (await t.scim('POST', '/Users', oktaUser())).json()).id;
});
afterAll(() => t?.cleanup());

async function expectScimError(res: Response, status: number, scimType?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  const body = await res.json();
  expect(body.schemas).toEqual([ERROR_SCHEMA]);
  expect(body.status).toBe(String(status));
  expect(body.scimType).toBe(scimType);
  expect(typeof body.detail).toBe('string');
  return body.detail as string;
}

describe('SCIM authentication', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong secret', { Authorization: 'Bearer not-the-secret' }],
    ['the secret as Basic', { Authorization: `Basic ${SCIM_SECRET}` }],
    ['an empty bearer', { Authorization: 'Bearer ' }],
    ['a 5,000-character header', { Authorization: `Bearer ${'x'.repeat(5000)}` }],
  ])('refuses %s with 401 and a Bearer challenge', async (_name, headers) => {
    const res = await t.broker.app.request('/scim/v2/Users', { headers });
    const detail = await expectScimError(res, 401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tokenbroker SCIM"');
    expect(detail).toContain('scim.token_sha256');
    expect(detail).not.toContain(SCIM_SECRET);
  });

  it('refuses unknown SCIM endpoints only after authentication', async () => {
    const anonymous = await t.broker.app.request('/scim/v2/Groups');
    await expectScimError(anonymous, 401);
    const detail = await expectScimError(await t.scim('GET', '/Groups'), 404);
    expect(detail).toContain('turn off group push');
  });

  it('is not served at all without scim in the config', async () => {
    const b = await startBroker();
    try {
      const res = await b.app.request('/scim/v2/Users', {
        headers: { Authorization: `Bearer ${SCIM_SECRET}` },
      });
      expect(res.status).toBe(404);
    } finally {
      await b.cleanup();
    }
  });
});

describe('SCIM refusals of what a directory sent', () => {
  it.each([
    ['a filter with or', 'userName eq "a" or userName eq "b"', 'invalidFilter'],
    ['a filter on another attribute', 'displayName eq "Alice"', 'invalidFilter'],
    ['a filter with another operator', 'userName sw "a"', 'invalidFilter'],
    ['an unclosed string', 'userName eq "alice', 'invalidFilter'],
    ['an unquoted string', 'userName eq alice', 'invalidFilter'],
    ['a bad escape', 'userName eq "\\q"', 'invalidFilter'],
    ['an unknown operator', 'userName is "a"', 'invalidFilter'],
    ['a filter that is only spaces', '   ', 'invalidFilter'],
    ['parentheses', '(userName eq "a")', 'invalidFilter'],
    ['a 2,000-character filter', `userName eq "${'a'.repeat(2000)}"`, 'invalidFilter'],
  ])('refuses %s with 400 invalidFilter', async (_name, filter, scimType) => {
    const res = await t.scim('GET', `/Users?filter=${encodeURIComponent(filter)}`);
    const detail = await expectScimError(res, 400, scimType);
    expect(detail).toMatch(/userName eq|filter/);
  });

  it.each([
    ['startIndex=abc', 'startIndex must be a whole number'],
    ['count=1e9', 'count must be a whole number'],
  ])('refuses %s with 400 invalidValue', async (query, message) => {
    const detail = await expectScimError(
      await t.scim('GET', `/Users?${query}`),
      400,
      'invalidValue',
    );
    expect(detail).toContain(message);
  });

  const user = oktaUser('carol@example.com');
  it.each([
    ['a body that is not JSON', '{"userName": ', 'invalidSyntax', 'not valid JSON'],
    ['no body', '', 'invalidSyntax', 'no body'],
    ['a JSON array', [user], 'invalidSyntax', 'JSON object'],
    ['no User schema', { ...user, schemas: ['urn:x'] }, 'invalidSyntax', USER_SCHEMA],
    ['no userName', { ...user, userName: undefined }, 'invalidValue', 'userName is required'],
    [
      'a userName that is a number',
      { ...user, userName: 42 },
      'invalidValue',
      'userName is required',
    ],
    [
      'active "maybe"',
      { ...user, active: 'maybe' },
      'invalidValue',
      'active must be true or false',
    ],
    [
      'emails that are not a list',
      { ...user, emails: 'c@x.io' },
      'invalidValue',
      'emails must be a list',
    ],
    [
      'an email that is not one',
      { ...user, emails: [{ value: 'carol', primary: true }] },
      'invalidValue',
      'not an email address',
    ],
    [
      'an email with KELVIN SIGN for k',
      { ...user, emails: [{ value: 'ma\u212Aer@example.com', primary: true }] },
      'invalidValue',
      'U+212A',
    ],
    [
      'a userName that is no email, and no emails',
      { ...user, emails: [], userName: 'carol' },
      'invalidValue',
      'userName "carol" cannot name the person',
    ],
    [
      'a body nested 40 deep',
      { ...user, x: JSON.parse('['.repeat(40) + ']'.repeat(40)) },
      'invalidSyntax',
      'nests deeper',
    ],
    [
      'a __proto__ key',
      JSON.parse(
        `{"schemas": ["${USER_SCHEMA}"], "userName": "p@x.io", "name": {"__proto__": {"givenName": "x"}}}`,
      ),
      'invalidSyntax',
      '__proto__',
    ],
  ])('refuses a create with %s', async (_name, body, scimType, message) => {
    const detail = await expectScimError(await t.scim('POST', '/Users', body), 400, scimType);
    expect(detail).toContain(message);
  });

  it('refuses a second user with the same userName or the same person with 409 uniqueness', async () => {
    const sameName = await t.scim('POST', '/Users', {
      ...oktaUser('ALICE@example.com'),
      emails: [{ value: 'other@example.com', primary: true }],
    });
    expect(await expectScimError(sameName, 409, 'uniqueness')).toContain(
      'userName "ALICE@example.com" is taken',
    );
    const samePerson = await t.scim('POST', '/Users', { ...oktaUser(), userName: 'alice2' });
    expect(await expectScimError(samePerson, 409, 'uniqueness')).toContain(
      'user:alice@example.com',
    );
  });

  const op = (o: unknown) => ({ schemas: [PATCH_SCHEMA], Operations: [o] });
  it.each([
    [
      'no schemas',
      { Operations: [{ op: 'replace', path: 'active', value: false }] },
      'invalidSyntax',
    ],
    ['no Operations', { schemas: [PATCH_SCHEMA] }, 'invalidSyntax'],
    ['an unknown op', op({ op: 'merge', path: 'active', value: false }), 'invalidSyntax'],
    ['a remove without a path', op({ op: 'remove' }), 'noTarget'],
    [
      'a path-less op whose value is not an object',
      op({ op: 'replace', value: false }),
      'invalidSyntax',
    ],
    ['a replace without a value', op({ op: 'replace', path: 'active' }), 'invalidSyntax'],
    ['a path that is not one', op({ op: 'replace', path: 'a b', value: 1 }), 'invalidPath'],
    [
      'an unclosed value path',
      op({ op: 'replace', path: 'emails[type eq "work"', value: 1 }),
      'invalidPath',
    ],
    [
      'a value path with a bad filter',
      op({ op: 'replace', path: 'emails[type xx "w"].value', value: 1 }),
      'invalidPath',
    ],
    [
      'a __proto__ in an extension',
      JSON.parse(
        `{"schemas": ["${PATCH_SCHEMA}"], "Operations": [{"op": "add", "value": {"urn:x:User": {"__proto__": {"a": 1}}}}]}`,
      ),
      'invalidSyntax',
    ],
    ['a change of id', op({ op: 'replace', path: 'id', value: 'mine' }), 'mutability'],
    ['active "nope"', op({ op: 'replace', path: 'active', value: 'nope' }), 'invalidValue'],
    ['a removed userName', op({ op: 'remove', path: 'userName' }), 'invalidValue'],
    [
      'a sub-attribute of a list',
      op({ op: 'replace', path: 'emails.value', value: 'x@y.io' }),
      'noTarget',
    ],
  ])('refuses a PATCH with %s', async (_name, body, scimType) => {
    await expectScimError(await t.scim('PATCH', `/Users/${userId}`, body), 400, scimType);
    // Nothing was written: the user is as created.
    const now = await (await t.scim('GET', `/Users/${userId}`)).json();
    expect(now).toMatchObject({ id: userId, active: true, userName: 'alice@example.com' });
  });

  it('answers 404 for an unknown user on every method', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', oktaUser('zed@example.com')],
      ['PATCH', op({ op: 'replace', path: 'active', value: false })],
      ['DELETE', undefined],
    ] as const) {
      const detail = await expectScimError(await t.scim(method, '/Users/no-such-id', body), 404);
      expect(detail).toContain('userName eq');
    }
  });

  it('answers a body over 64 KiB with a SCIM 413', async () => {
    const big = JSON.stringify({ ...oktaUser('big@example.com'), title: 'x'.repeat(70_000) });
    // Streamed (no length), and refused from its Content-Length before it is read.
    await expectScimError(await t.scim('POST', '/Users', big), 413);
    const announced = { 'Content-Length': String(Buffer.byteLength(big)) };
    await expectScimError(await t.scim('POST', '/Users', big, announced), 413);
  });

  it('reads a hostile filter in bounded time', async () => {
    const hostile = `userName eq "${'\\"'.repeat(500)}`;
    const start = performance.now();
    await expectScimError(
      await t.scim('GET', `/Users?filter=${encodeURIComponent(hostile)}`),
      400,
      'invalidFilter',
    );
    expect(performance.now() - start).toBeLessThan(500);
  });
});
