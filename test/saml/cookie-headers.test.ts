import { afterEach, describe, expect, it } from 'vitest';
import {
  csrfOf,
  loginCookie,
  post,
  sessionCookie,
  startSamlBroker,
  type SamlTestBroker,
} from '../helpers/saml-broker.js';

/**
 * The Set-Cookie headers of a whole browser login and logout, to the byte
 * (only the random values are masked): sessions/ and saml/login-binding
 * decide the cookies as plain values and http/cookies.ts writes them, and
 * what browsers receive must not depend on that split.
 */
let t: SamlTestBroker;
afterEach(() => t?.cleanup());

/** `name=<value>; attributes`, with the random ids in the value masked. */
const headers = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((h) =>
      h.replace(
        /^([^=]+)=([^;]*)/,
        (_, n: string, v: string) => `${n}=<${v.replace(/[\w-]{16,}/g, 'id')}>`,
      ),
    );

describe.each([
  {
    issuer: 'https://broker.test',
    login:
      '__Host-tb_saml_login=<id~1768478400>; Max-Age=1800; Path=/; HttpOnly; Secure; SameSite=None',
    loginCleared: '__Host-tb_saml_login=<>; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=None',
    session: '__Host-tb_session=<id>; Max-Age=28800; Path=/; HttpOnly; Secure; SameSite=Lax',
    sessionCleared: '__Host-tb_session=<>; Max-Age=0; Path=/; Secure',
  },
  {
    issuer: 'http://127.0.0.1:8787',
    login: 'tb_saml_login=<id~1768478400>; Max-Age=1800; Path=/; HttpOnly; SameSite=Lax',
    loginCleared: 'tb_saml_login=<>; Max-Age=0; Path=/; HttpOnly; SameSite=Lax',
    session: 'tb_session=<id>; Max-Age=28800; Path=/; HttpOnly; SameSite=Lax',
    sessionCleared: 'tb_session=<>; Max-Age=0; Path=/',
  },
])('browser cookies of a broker at $issuer', ({ issuer, ...expected }) => {
  const acs = { acsUrl: `${issuer}/saml/acs`, audience: `${issuer}/saml/metadata` };

  it('sets the login cookie at /saml/login, keeps a second login beside the first, and clears it when the last one finishes', async () => {
    t = await startSamlBroker({ config: { issuer } });
    expect(headers(await t.broker.app.request('/saml/login'))).toEqual([expected.login]);
    const first = await t.startLogin();
    const second = await t.startLogin();
    expect(t.loginCookie!.split('.')).toHaveLength(2);
    const done = await t.postAcs(t.response({ ...acs, inResponseTo: second.id }));
    expect(done.status).toBe(303);
    expect(headers(done)).toEqual([expected.session, expected.login]);
    t.loginCookie = loginCookie(done); // the browser keeps the first login, the second is done
    const last = await t.postAcs(t.response({ ...acs, inResponseTo: first.id }));
    expect(headers(last)).toEqual([expected.session, expected.loginCleared]);
  });

  it('sets no cookie on a refused response or a page view, and clears the session cookie at logout', async () => {
    t = await startSamlBroker({ config: { issuer } });
    const { id } = await t.startLogin();
    const refused = await t.postAcs(t.response({ ...acs, inResponseTo: id, audience: 'x' }));
    expect(refused.status).toBe(400);
    expect(headers(refused)).toEqual([]);
    const cookie = sessionCookie(await t.postAcs(t.response({ ...acs, inResponseTo: id })))!;
    const page = await t.broker.app.request('/', { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(headers(page)).toEqual([]);
    const out = await post(t, '/saml/logout', cookie, { csrf: await csrfOf(t, cookie) });
    expect(out.status).toBe(303);
    expect(headers(out)).toEqual([expected.sessionCleared]);
    // A browser whose session has already ended is told nothing new.
    expect(headers(await post(t, '/saml/logout', cookie, { csrf: 'x' }))).toEqual([]);
  });
});
