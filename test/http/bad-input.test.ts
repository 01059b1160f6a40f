import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXCHANGE, startBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker;
beforeEach(async () => {
  broker = await startBroker();
});
afterEach(() => broker.cleanup());

const post = (path: string, body: BodyInit, type = 'application/x-www-form-urlencoded') =>
  broker.app.request(path, { method: 'POST', headers: { 'Content-Type': type }, body });

async function expectOAuthError(
  res: Response,
  status: number,
  error: string,
  description?: string | RegExp,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = await res.json();
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  if (description instanceof RegExp) expect(body.error_description).toMatch(description);
  else if (description) expect(body.error_description).toBe(description);
  expect(body.error_description).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
}

describe('bad input gets a 4xx with an RFC 6749 body', () => {
  it.each([
    ['an empty form', '', 'invalid_request', 'parameter grant_type is required'],
    [
      'an unknown grant type',
      'grant_type=password&username=a',
      'unsupported_grant_type',
      /^grant_type "password" is not supported: use urn:ietf/,
    ],
    [
      'the authorization_code grant',
      'grant_type=authorization_code&code=x',
      'unsupported_grant_type',
      /not supported/,
    ],
    [
      'a missing subject_token',
      `grant_type=${EXCHANGE.grant_type}`,
      'invalid_request',
      'parameter subject_token is required',
    ],
    [
      'a missing subject_token_type',
      `grant_type=${EXCHANGE.grant_type}&subject_token=x`,
      'invalid_request',
      'parameter subject_token_type is required',
    ],
    [
      'an unknown subject_token_type',
      `grant_type=${EXCHANGE.grant_type}&subject_token=x&subject_token_type=urn:x`,
      'invalid_request',
      /^subject_token_type "urn:x" is not supported/,
    ],
    [
      'a repeated parameter',
      `grant_type=${EXCHANGE.grant_type}&grant_type=${EXCHANGE.grant_type}`,
      'invalid_request',
      'parameter "grant_type" is repeated: send it once',
    ],
    [
      'a malformed scope',
      `grant_type=${EXCHANGE.grant_type}&subject_token=x&subject_token_type=${EXCHANGE.access}&scope=nocolon`,
      'invalid_scope',
      /is not a scope/,
    ],
    [
      'a bad ttl',
      `grant_type=${EXCHANGE.grant_type}&subject_token=x&subject_token_type=${EXCHANGE.access}&ttl=forever`,
      'invalid_request',
      'ttl "forever" is not a lifetime: give seconds (900) or a duration (15m, 1h)',
    ],
    [
      'a zero ttl',
      `grant_type=${EXCHANGE.grant_type}&subject_token=x&subject_token_type=${EXCHANGE.access}&ttl=0`,
      'invalid_request',
      /is not a lifetime/,
    ],
    [
      'a garbage subject token',
      `grant_type=${EXCHANGE.grant_type}&subject_token=%00%ff&subject_token_type=${EXCHANGE.access}`,
      'invalid_grant',
      'token is not a valid signed JWT: send the access_token this broker issued, unchanged',
    ],
    [
      'an actor token',
      `grant_type=${EXCHANGE.grant_type}&subject_token=x&subject_token_type=${EXCHANGE.access}&actor_token=y`,
      'invalid_request',
      /actor_token/,
    ],
    [
      'another audience',
      `grant_type=${EXCHANGE.grant_type}&subject_token=x&subject_token_type=${EXCHANGE.access}&audience=https://evil.test`,
      'invalid_target',
      /is not served here/,
    ],
    ['malformed percent-encoding', 'grant_type=%zz', 'unsupported_grant_type', /not supported/],
  ])('%s', async (_name, body, error, description) => {
    await expectOAuthError(await post('/token', body), 400, error, description);
  });

  it.each([
    ['not JSON', '{"grant_type":', 'request body is not valid JSON'],
    ['a JSON array', '[1,2]', 'request body must be a JSON object of string parameters'],
    ['a JSON string', '"x"', 'request body must be a JSON object of string parameters'],
    [
      'a number where a string belongs',
      '{"grant_type": 5}',
      'parameter "grant_type" must be a string, got number',
    ],
    [
      'an object where a string belongs',
      '{"grant_type": {"a":1}}',
      'parameter "grant_type" must be a string, got object',
    ],
    [
      'an array where a string belongs',
      `{"grant_type":"${EXCHANGE.grant_type}","subject_token":["a"]}`,
      'parameter "subject_token" must be a string, got array',
    ],
  ])('JSON: %s', async (_name, body, description) => {
    await expectOAuthError(
      await post('/token', body, 'application/json'),
      400,
      'invalid_request',
      description,
    );
  });

  it('refuses an unsupported content type', async () => {
    await expectOAuthError(
      await post('/token', '<x/>', 'application/xml'),
      400,
      'invalid_request',
      /unsupported Content-Type "application\/xml"/,
    );
    await expectOAuthError(
      await broker.app.request('/token', { method: 'POST', body: 'grant_type=x' }),
      400,
      'invalid_request',
      /unsupported Content-Type/,
    );
  });

  it('refuses a 1 MiB body with 413', async () => {
    const big = `grant_type=${'a'.repeat(1024 * 1024)}`;
    for (const path of ['/token', '/oauth/token', '/introspect', '/revoke']) {
      await expectOAuthError(
        await post(path, big),
        413,
        'invalid_request',
        'request body is larger than 64 KiB: send a smaller body',
      );
    }
  });

  it('refuses a 1 MiB body sent without Content-Length', async () => {
    const chunk = new TextEncoder().encode('a'.repeat(64 * 1024));
    const stream = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < 16; i++) ctl.enqueue(chunk);
        ctl.close();
      },
    });
    const res = await broker.app.request('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectOAuthError(res, 413, 'invalid_request');
  });

  it('answers unknown paths with 404 and a pointer to the metadata', async () => {
    await expectOAuthError(
      await broker.app.request('/nope'),
      404,
      'invalid_request',
      'no such endpoint GET /nope: see /.well-known/oauth-authorization-server',
    );
    await expectOAuthError(
      await broker.app.request('/token'),
      404,
      'invalid_request',
      /no such endpoint GET \/token/,
    );
  });

  it('sets secure headers', async () => {
    const res = await broker.app.request('/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
  });
});

describe('HTTP errors the framework raises', () => {
  it.each([
    [400, 'invalid_request'],
    [401, 'invalid_client'],
    [403, 'access_denied'],
    [404, 'invalid_request'],
    [405, 'invalid_request'],
    [429, 'temporarily_unavailable'],
  ])('keep their status %i, with an RFC 6749 body (%s)', async (status, error) => {
    broker.app.get('/framework-error', () => {
      throw new HTTPException(status as ContentfulStatusCode, {
        message: 'refused by the framework',
      });
    });
    await expectOAuthError(
      await broker.app.request('/framework-error'),
      status,
      error,
      'refused by the framework',
    );
  });
});
