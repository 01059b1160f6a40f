import fc from 'fast-check';
import type { Mutation } from './jwt.js';

/**
 * Generators of the values the fuzzer sends. Vocabularies mix what the broker
 * expects with near misses (a trailing space, another case, a longer path),
 * hostile text (markup, control characters, NUL, unicode look-alikes) and
 * sizes at and past the limits, so random cases reach the deep checks.
 */

/** encodeURIComponent that turns a lone surrogate into U+FFFD instead of throwing. */
export const encodeLoosely = (s: string): string =>
  encodeURIComponent(
    s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
  );

/** Recognisable markup: an HTML page that shows it unescaped is a finding. */
export const MARKUP = '<x-fz a="1">';

export const hostile = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31m',
  '\r\n',
  MARKUP,
  `"${MARKUP}'`,
  '%00',
  '%',
  '%zz',
  '&amp;',
  '\u212Aelvin',
  'ſ',
  'İ',
  '\ud800',
  '\u202e',
  '😀',
  '../..',
  '//evil.test',
  '/\\evil.test',
  'javascript:alert(1)',
  'x'.repeat(1025),
  'y'.repeat(70_000),
  '(a+)+$',
  'a'.repeat(30) + '!', // (a+)+b backtracks for seconds; many more a's would hang, not just slow
  'b'.repeat(48) + '!',
  '__proto__',
  'constructor',
);

export const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: hostile },
);

export const jsonValue = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      1e308,
      -1e308,
      2 ** 53 + 1,
      1.5,
      [],
      {},
      ['acme/models'],
      { toString: 'acme/models' },
    ),
  },
);

export const scopeWord = fc.oneof(
  fc.constantFrom(
    'read:models/acme/bert',
    'write:models/acme/bert',
    'write:models/acme/gl-x',
    'write:models/acme/*',
    'write:models/acme/**',
    'read:models/acme/**',
    'read:datasets/acme/a/b',
    'read:datasets/acme/**',
    'read:**',
    '*:models/acme/bert',
    'admin:models/acme/bert',
    'read:models/acme/../x',
    'read:models//acme',
    'READ:models/acme/bert',
    'read:models/acme/bert:x',
    'read:',
    ':x',
    'read:models/acme/x*',
    'write:models/acme/gl-*',
    'write:models/evil/bert',
  ),
  text,
);

export const scopeParam = fc.oneof(
  { weight: 4, arbitrary: fc.array(scopeWord, { maxLength: 4 }).map((w) => w.join(' ')) },
  {
    weight: 1,
    arbitrary: fc.array(scopeWord, { minLength: 51, maxLength: 60 }).map((w) => w.join(' ')),
  },
  { weight: 1, arbitrary: fc.array(scopeWord, { maxLength: 3 }).map((w) => w.join('\t\n ')) },
);

export const resourceParam = fc.oneof(
  fc.constantFrom(
    'acme/bert',
    'acme/gl-x',
    'datasets/acme/a',
    'spaces/acme/a',
    'models/acme/bert',
    'acme/*',
    'acme/be rt',
    'acme/bert:x',
    'acme/<b>',
    'acme/%2e%2e',
    'acme/..',
    '/acme/bert',
    'a/b/c/d',
    'acme/bert\u0000',
    `acme/${'b'.repeat(300)}`,
    'acme/b\u00e9rt',
  ),
  text,
);

export const ttlParam = fc.oneof(
  fc.constantFrom(
    '1',
    '60',
    '900',
    '15m',
    '1h',
    '2h',
    '1d',
    '0',
    '-5',
    '1.5',
    '1e3',
    ' 30m ',
    '999999999',
    '9999999999',
    '30 m',
    '1H',
    '',
  ),
  fc.integer({ min: -10, max: 100_000 }).map(String),
  text,
);

const at = fc.double({ min: 0, max: 1, noNaN: true });

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 6 }) }),
  fc.record({
    op: fc.constant('set' as const),
    at,
    ch: fc.constantFrom('A', '-', '_', '.', '=', '+', '/', ' ', '\u0000', 'é'),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at,
    text: fc.oneof(fc.constantFrom('.', '..', '=', '==', ' ', 'A'), text),
  }),
  fc.record({ op: fc.constant('delete' as const), at, n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.constant({ op: 'respell' as const }),
  fc.record({ op: fc.constant('swap-segments' as const), a: fc.nat(3), b: fc.nat(3) }),
  fc.record({ op: fc.constant('duplicate-segment' as const), i: fc.nat(3) }),
);

/** Extra token-endpoint parameters: RFC 8693's optional ones, near misses, junk. */
export const extraParam = fc.tuple(
  fc.oneof(
    fc.constantFrom(
      'audience',
      'actor_token',
      'actor_token_type',
      'requested_token_type',
      'client_id',
      'client_secret',
      'scope',
      'grant_type',
      '__proto__',
      'constructor',
      'hasOwnProperty',
    ),
    text,
  ),
  fc.oneof(
    fc.constantFrom(
      'https://hub.test',
      'https://evil.test',
      'urn:ietf:params:oauth:token-type:access_token',
      'urn:ietf:params:oauth:token-type:refresh_token',
    ),
    text,
    jsonValue,
  ),
);

export type Encoding = 'form' | 'json' | 'form-dup' | 'json-typed' | 'bad-type' | 'none';

export const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('form' as const) },
  { weight: 4, arbitrary: fc.constant('json' as const) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'form-dup' as const,
      'json-typed' as const,
      'bad-type' as const,
      'none' as const,
    ),
  },
);

/** The token-exchange parameters around a subject token. */
export const exchangeParams = fc.record(
  {
    grantType: fc.oneof(
      { weight: 12, arbitrary: fc.constant('urn:ietf:params:oauth:grant-type:token-exchange') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'client_credentials',
          'URN:IETF:PARAMS:OAUTH:GRANT-TYPE:TOKEN-EXCHANGE',
          '',
        ),
      },
      { weight: 1, arbitrary: text },
    ),
    tokenType: fc.oneof(
      { weight: 10, arbitrary: fc.constantFrom('id_token', 'jwt', 'access_token') },
      { weight: 1, arbitrary: text },
    ),
    scope: fc.option(scopeParam, { nil: undefined, freq: 2 }),
    resource: fc.oneof(
      { weight: 5, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: resourceParam },
    ),
    ttl: fc.option(ttlParam, { nil: undefined, freq: 2 }),
    extra: fc.array(extraParam, { maxLength: 2 }),
    encoding,
    path: fc.constantFrom('/token', '/oauth/token'),
  },
  { requiredKeys: ['grantType', 'tokenType', 'extra', 'encoding', 'path'] },
);
export type ExchangeParams = typeof exchangeParams extends fc.Arbitrary<infer T> ? T : never;
