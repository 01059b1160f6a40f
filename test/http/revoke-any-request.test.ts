import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EXCHANGE,
  form,
  introspect,
  mintFor,
  startBroker,
  testConfig,
  type TestBroker,
} from '../helpers/broker.js';

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.cleanup();
  broker = undefined;
});

/** A request to /revoke built around the live token T. */
interface Case {
  name: string;
  contentType?: string;
  body: (token: string) => string | undefined;
  revokes: boolean;
}

const FORM = 'application/x-www-form-urlencoded';
const cases: Case[] = [
  {
    name: 'a well-formed form request',
    contentType: FORM,
    body: (t) => `token=${t}`,
    revokes: true,
  },
  { name: 'no Content-Type, a form body', body: (t) => `token=${t}`, revokes: true },
  {
    name: 'no Content-Type, a JSON body',
    body: (t) => JSON.stringify({ token: t }),
    revokes: true,
  },
  {
    name: 'an unknown Content-Type',
    contentType: 'text/plain',
    body: (t) => `token=${t}`,
    revokes: true,
  },
  {
    name: 'token repeated with the same value',
    contentType: FORM,
    body: (t) => `token=${t}&token=${t}`,
    revokes: true,
  },
  {
    name: 'another parameter repeated',
    contentType: FORM,
    body: (t) => `token=${t}&token_type_hint=a&token_type_hint=b`,
    revokes: true,
  },
  {
    name: 'token repeated with different values',
    contentType: FORM,
    body: (t) => `token=${t}&token=other`,
    revokes: false,
  },
  {
    name: 'invalid JSON',
    contentType: 'application/json',
    body: (t) => `{"token":"${t}"`,
    revokes: false,
  },
  {
    name: 'a JSON token that is not a string',
    contentType: 'application/json',
    body: () => '{"token":5}',
    revokes: false,
  },
  {
    name: 'a JSON array',
    contentType: 'application/json',
    body: (t) => JSON.stringify([t]),
    revokes: false,
  },
  { name: 'JSON null', contentType: 'application/json', body: () => 'null', revokes: false },
  {
    name: 'no token',
    contentType: FORM,
    body: () => 'token_type_hint=access_token',
    revokes: false,
  },
  { name: 'an empty token', contentType: FORM, body: () => 'token=', revokes: false },
  { name: 'no body and no Content-Type', body: () => undefined, revokes: false },
  {
    name: 'bytes that are no encoding at all',
    contentType: FORM,
    body: () => '%%%\u0000\uFFFD&&==',
    revokes: false,
  },
];

describe('POST /revoke answers 200 for any request but 413 and 429', () => {
  let shared: TestBroker;
  beforeAll(async () => (shared = await startBroker()));
  afterAll(() => shared.cleanup());

  it.each(cases)(
    'answers 200 to $name (revoked: $revokes)',
    async ({ contentType, body, revokes }) => {
      const minted = await mintFor(shared, ['read:models/acme/*']);
      const text = body(minted.token);
      const res = await shared.app.request('/revoke', {
        method: 'POST',
        headers: contentType ? { 'Content-Type': contentType } : {},
        // Bytes, not a string: a string body would get text/plain from the Request constructor.
        body: text === undefined ? undefined : new TextEncoder().encode(text),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect((await introspect(shared, minted.token)).active).toBe(!revokes);
    },
  );

  it('answers 413 to a body over 64 KiB', async () => {
    broker = await startBroker();
    const res = await broker.app.request('/revoke', form({ token: 'a'.repeat(65 * 1024) }));
    expect(res.status).toBe(413);
    expect((await res.json()).error_description).toBe(
      'request body is larger than 64 KiB: send a smaller body',
    );
  });

  it('answers 429 past rate_limit.per_client, a budget it shares with /token', async () => {
    broker = await startBroker({
      config: await testConfig({ rate_limit: { per_client: '3/1m', per_subject: '100/1m' } }),
    });
    const minted = await mintFor(broker, ['read:models/acme/*']);
    const exchange = form({
      grant_type: EXCHANGE.grant_type,
      subject_token: minted.token,
      subject_token_type: EXCHANGE.access,
    });
    expect((await broker.app.request('/token', exchange)).status).toBe(200);
    expect((await broker.app.request('/revoke', form({ token: 'x' }))).status).toBe(200);
    expect((await broker.app.request('/revoke', form({ token: 'x' }))).status).toBe(200);
    const limited = await broker.app.request('/revoke', form({ token: minted.token }));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.stringMatching(
        /^too many requests from this client address \(limit 3 per 1m\): retry after \d+s$/,
      ),
    });
    // Refused before anything was done: the token is still alive.
    expect((await introspect(broker, minted.token)).active).toBe(true);
  });
});
