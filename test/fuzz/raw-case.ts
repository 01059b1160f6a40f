import fc from 'fast-check';
import { encodeLoosely, hostile, jsonValue, text } from './arbitraries.js';
import { fail, send, type Stats } from './http.js';
import type { World } from './world.js';

/**
 * Requests with no valid credential in them: any method on known paths and
 * junk ones, odd content types, bodies that are forms, nested JSON, bytes,
 * or over the size limit, and headers of every kind. Only the generic checks
 * apply (and since nothing here is a valid token, no 200 may carry one).
 */
const ENDPOINTS = [
  '/.well-known/oauth-authorization-server',
  '/jwks',
  '/token',
  '/oauth/token',
  '/introspect',
  '/revoke',
  '/healthz',
  '/readyz',
  '/saml/metadata',
  '/saml/login',
  '/saml/acs',
  '/saml/logout',
  '/saml/slo',
  '/',
  '/tokens',
  '/tokens/abc/revoke',
  '/static/app.css',
  '/me',
  '/metrics',
  '/device_authorization',
  '/scim/v2/Users',
];

const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ENDPOINTS) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...ENDPOINTS),
        fc.constantFrom(
          '/',
          '//',
          '/..',
          '/%2e%2e/',
          '%00',
          '?a=%ZZ',
          '?return_to=//evil',
          '#x',
          '/x'.repeat(500),
          ';a=b',
          '.json',
          '%20',
        ),
      )
      .map(([a, b]) => a + b),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom('saml', 'tokens', '..', '.', '%2F', 'static', 'x'),
          text.map(encodeLoosely),
        ),
        { maxLength: 4 },
      )
      .map((p) => `/${p.join('/')}`),
  },
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-16',
    'APPLICATION/JSON',
    'application/json;charset=utf-8',
    'application/json; boundary=x',
    'multipart/form-data; boundary=x',
    'text/plain',
    'application/xml',
    'application/jwt',
    '',
    ';',
    'application/json\u0000',
  ),
  text,
);

const body = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(
              'grant_type',
              'subject_token',
              'subject_token_type',
              'token',
              'scope',
              'SAMLResponse',
              'csrf',
              'RelayState',
            ),
            text,
          ),
          text,
        ),
        { maxLength: 5 },
      )
      .map((kv) => new URLSearchParams(kv).toString()),
  },
  { weight: 3, arbitrary: jsonValue.map((v) => JSON.stringify(v) ?? 'undefined') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"a":'.repeat(5000),
      '['.repeat(10_000),
      '{"grant_type":1e999}',
      '{"__proto__":{"x":1}}',
      '{"a":"\\ud800"}',
      'a=1&a=2&a=3',
      '%',
      '=&=&',
      'x'.repeat(64 * 1024 + 1),
      `grant_type=${'%41'.repeat(30_000)}`,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  },
  { weight: 1, arbitrary: hostile },
);

const header = fc.oneof(
  fc.tuple(
    fc.constant('Authorization'),
    fc.oneof(
      fc.constantFrom(
        'Basic',
        'Basic =',
        'Bearer',
        'Bearer eyJ.eyJ.x',
        'Basic aHViOmh1Yi1zZWNyZXQtZm9yLXRlc3Rz\u0000',
        'Digest x',
      ),
      text.map((t) => `Basic ${Buffer.from(t).toString('base64')}`),
      text,
    ),
  ),
  fc.tuple(
    fc.constant('Cookie'),
    fc.oneof(
      fc.constantFrom(
        '__Host-tb_session=x',
        'tb_saml_login=' + '_a~1.'.repeat(300),
        '=;=;',
        '__Host-tb_session=%ZZ',
      ),
      text,
    ),
  ),
  fc.tuple(
    fc.constantFrom(
      'Accept',
      'X-Forwarded-For',
      'User-Agent',
      'Origin',
      'Host',
      'Transfer-Encoding',
      'Content-Encoding',
      'X-Request-Id',
      'Content-Length',
    ),
    fc.oneof(
      fc.constantFrom('text/html', 'gzip', 'chunked', '-1', '99999999999', '0', 'null'),
      text,
    ),
  ),
);

export const rawCase = fc.record({
  method: fc.constantFrom(
    'GET',
    'POST',
    'POST',
    'POST',
    'PUT',
    'DELETE',
    'PATCH',
    'HEAD',
    'OPTIONS',
  ),
  path,
  contentType: fc.option(contentType, { nil: undefined }),
  body: fc.option(body, { nil: undefined }),
  headers: fc.array(header, { maxLength: 3 }),
});
export type RawCase = typeof rawCase extends fc.Arbitrary<infer T> ? T : never;

export async function runRaw(world: World, stats: Stats, c: RawCase): Promise<void> {
  const headers: Record<string, string> = {};
  if (c.contentType !== undefined) headers['Content-Type'] = c.contentType;
  for (const [k, v] of c.headers) headers[k] = v;
  const hasBody = c.body !== undefined && c.method !== 'GET' && c.method !== 'HEAD';
  const describe = () => `raw ${JSON.stringify(c).slice(0, 2000)}`;
  const sent = await send(
    world,
    stats,
    c.path,
    { method: c.method, headers, ...(hasBody ? { body: c.body } : {}) },
    describe,
  );
  if (sent.res.status === 200 && sent.body.includes('"access_token"')) {
    fail(
      'token-for-invalid-input',
      `a request without any valid credential got a token | ${describe()}`,
    );
  }
}
