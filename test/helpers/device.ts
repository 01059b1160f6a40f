import type { DeviceAuthorization } from '../../src/exchange/device-flow.js';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { form } from './broker.js';
import { runtimeFetch } from './runtime.js';
import { get, post, type SamlTestBroker } from './saml-broker.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** What POST /device_authorization answers (RFC 8628 section 3.2), as the server types it. */
export type { DeviceAuthorization };

/** A device's requests, to the app in-process or to a listening server's URL. */
export type Send = (path: string, init: RequestInit) => Promise<Response>;

export const inProcess =
  (t: SamlTestBroker): Send =>
  async (path, init) =>
    t.broker.app.request(path, init);

export const overHttp =
  (base: string): Send =>
  (path, init) =>
    (runtimeFetch ?? fetch)(`${base}${path}`, init);

/** POST /device_authorization as a terminal would; fails the test unless it is a 200. */
export async function authorize(
  send: Send,
  params: Record<string, string> = { scope: 'read:models/acme/bert' },
  headers: Record<string, string> = {},
): Promise<DeviceAuthorization> {
  const init = form(params);
  const res = await send('/device_authorization', {
    ...init,
    headers: { ...(init.headers as Record<string, string>), ...headers },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as DeviceAuthorization;
}

/** One poll of the token endpoint with the device code: the status and the JSON body. */
export async function poll(
  send: Send,
  deviceCode: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await send(
    '/token',
    form({ grant_type: DEVICE_GRANT, device_code: deviceCode, ...extra }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The approval page's CSRF field for a code. */
export async function pageCsrf(t: SamlTestBroker, cookie: string, userCode: string) {
  const html = await (await get(t, `/device?user_code=${userCode}`, cookie)).text();
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}

/** Presses Approve (or Deny) on the page, as the browser would after showing it. */
export async function decide(
  t: SamlTestBroker,
  cookie: string,
  userCode: string,
  verdict: 'approve' | 'deny' = 'approve',
): Promise<Response> {
  const csrf = await pageCsrf(t, cookie, userCode);
  return post(t, `/device/${verdict}`, cookie, { csrf, user_code: userCode });
}

/** The token verified against the broker's /jwks, as a workspace would. */
export async function verifyAgainstJwks(
  t: SamlTestBroker,
  token: string,
  send: Send = inProcess(t),
): Promise<JWTPayload> {
  const jwks = await (await send('/jwks', {})).json();
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: 'https://broker.test',
    audience: 'https://hub.test',
    currentDate: new Date(t.clock.now()),
  });
  expect(protectedHeader.typ).toBe('at+jwt');
  return payload;
}
