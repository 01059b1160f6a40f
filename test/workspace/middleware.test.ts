import { Hono, type Context } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { requireWorkspaceToken } from '../../src/workspace/index.js';
import { mintFor, startBroker, testConfig, type TestBroker } from '../helpers/broker.js';
import { listen } from '../helpers/listen.js';

let broker: TestBroker;
let server: { url: string; close: () => Promise<void> };
let hub: Hono;
let writer: string;
let reader: string;

beforeAll(async () => {
  server = await listen((req) => broker.app.fetch(req));
  broker = await startBroker({
    config: await testConfig({ issuer: server.url }),
    clock: new ManualClock(Date.now()),
  });
  writer = (await mintFor(broker, ['write:models/**'])).token;
  reader = (await mintFor(broker, ['read:models/**'])).token;
  // A workspace API as the README shows it: the scope is built from route parameters.
  hub = new Hono();
  hub.use(
    '/api/models/:ns/:name',
    requireWorkspaceToken({
      issuer: server.url,
      audience: 'https://hub.test',
      scope: (c: Context) => `write:models/${c.req.param('ns')}/${c.req.param('name')}`,
    }),
  );
  hub.put('/api/models/:ns/:name', (c) => c.json({ ok: true }));
});
afterAll(async () => {
  await server.close();
  await broker.cleanup();
});

/**
 * An RFC 6750 challenge whose quoted strings hold printable ASCII only, with
 * no quote or backslash of the request inside: nothing can be injected.
 */
const CHALLENGE =
  /^Bearer realm="workspace"(, error="[a-z_]+", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"(, scope="[\x21\x23-\x5b\x5d-\x7e]+")?)?$/;

/** Route parameters no scope can name: the path is outside the grammar. */
const BAD_PARAMS: [string, string][] = [
  ['a wildcard', '/api/models/acme/*'],
  ['a double wildcard', '/api/models/**/bert'],
  ['an encoded space', '/api/models/acme/my%20bert'],
  ['a non-ASCII letter', '/api/models/acme/b%C3%A9rt'],
  ['a colon', '/api/models/acme:x/bert'],
  ['an encoded colon', '/api/models/acme/bert%3Alatest'],
  ['201 characters', `/api/models/acme/${'b'.repeat(201)}`],
  ['10,000 characters', `/api/models/acme/${'b'.repeat(10_000)}`],
  ['an encoded quote', '/api/models/acme/%22bert%22'],
  ['an encoded CR LF', '/api/models/acme/bert%0D%0AX-Injected:%201'],
  ['an encoded NUL', '/api/models/acme/bert%00'],
  ['an encoded backslash', '/api/models/acme/b%5Cert'],
  ['an encoded ../ in a parameter', '/api/models/acme%2F..%2Fadmin/bert'],
  ['an undecodable escape', '/api/models/acme/b%ZZrt'],
  ['a right-to-left override', '/api/models/acme/%E2%80%AEtreb'],
];

const AUTHORIZATIONS: [string, () => string | undefined][] = [
  ['Bearer garbage', () => 'Bearer garbage'],
  ['a valid token', () => `Bearer ${writer}`],
  ['no token', () => undefined],
];

async function put(path: string, authorization: string | undefined): Promise<Response> {
  return hub.request(path, {
    method: 'PUT',
    headers: authorization ? { Authorization: authorization } : {},
  });
}

describe('requireWorkspaceToken with a scope built from route parameters', () => {
  describe.each(AUTHORIZATIONS)('with %s', (_, authorization) => {
    it.each(BAD_PARAMS)(
      'answers 400 invalid_request, never 500, to a path with %s',
      async (_, path) => {
        const res = await put(path, authorization());
        expect(res.status).toBe(400);
        const body = (await res.json()) as Record<string, string>;
        expect(body.error).toBe('invalid_request');
        expect(body.error_description).toMatch(/letters, digits/);
        expect(res.headers.get('www-authenticate')).toMatch(CHALLENGE);
        expect(res.headers.get('x-injected')).toBeNull();
      },
    );
  });

  it('lets a token through whose scopes cover the path', async () => {
    const res = await put('/api/models/acme/bert-v2.1', `Bearer ${writer}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('answers 403 insufficient_scope with a well-formed challenge naming the scope', async () => {
    const res = await put('/api/models/acme/bert', `Bearer ${reader}`);
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toMatch(CHALLENGE);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="write:models/acme/bert"');
  });

  it('answers 401 invalid_token with a well-formed challenge to a garbage token', async () => {
    const res = await put('/api/models/acme/bert', 'Bearer garbage');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(CHALLENGE);
    expect(((await res.json()) as Record<string, string>).error).toBe('invalid_token');
  });

  it('refuses a constant scope outside the grammar when the middleware is built: a programmer error', () => {
    for (const scope of ['write:models/acme/*', 'models/acme/bert', 'write:models/a b', '']) {
      expect(() =>
        requireWorkspaceToken({ issuer: server.url, audience: 'https://hub.test', scope }),
      ).toThrow(TypeError);
    }
  });
});
