import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGE, startBroker, type TestBroker } from '../helpers/broker.js';

/**
 * Refusals that quote what the caller sent (a parameter's name or value, a
 * Content-Type) quote it short and escaped: RFC 6749 keeps error_description
 * to printable ASCII, clients print it to terminals and CI logs, and a
 * browser route shows it on a page of the broker's own origin, where any
 * site can make a browser post a crafted form.
 */
const PHISH = `\u202e Your session expired. Sign in again at https://evil.test/login to keep your tokens. ${'z'.repeat(100)}`;
const FORM = 'application/x-www-form-urlencoded';
const enc = encodeURIComponent;

const cases: Array<{ name: string; path: string; type: string; body: string }> = [
  {
    name: 'a repeated parameter named by the caller',
    path: '/token',
    type: FORM,
    body: `${enc(PHISH)}=1&${enc(PHISH)}=2`,
  },
  {
    name: 'a JSON parameter that is not a string',
    path: '/token',
    type: 'application/json',
    body: JSON.stringify({ [PHISH]: 1 }),
  },
  {
    // A header holds Latin-1 only: a C1 control (CSI) then the message.
    name: 'an unsupported Content-Type',
    path: '/token',
    type: `text/\u009b2J${'z'.repeat(100)} to keep your tokens`,
    body: 'x',
  },
  {
    name: 'an unsupported grant_type',
    path: '/token',
    type: FORM,
    body: `grant_type=${enc(PHISH)}`,
  },
  {
    name: 'an unsupported subject_token_type',
    path: '/token',
    type: FORM,
    body: `grant_type=${enc(EXCHANGE.grant_type)}&subject_token=x&subject_token_type=${enc(PHISH)}`,
  },
  {
    name: 'an unsupported requested_token_type',
    path: '/token',
    type: FORM,
    body: `grant_type=${enc(EXCHANGE.grant_type)}&subject_token=x&subject_token_type=${enc(EXCHANGE.idToken)}&requested_token_type=${enc(PHISH)}`,
  },
  {
    name: 'an audience not served here',
    path: '/token',
    type: FORM,
    body: `grant_type=${enc(EXCHANGE.grant_type)}&subject_token=x&subject_token_type=${enc(EXCHANGE.idToken)}&audience=${enc(PHISH)}`,
  },
];

describe('a refusal quoting caller text', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(() => broker.cleanup());

  it.each(cases)('quotes $name short and in printable ASCII', async ({ path, type, body }) => {
    const res = await broker.app.request(path, {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const text = await res.text();
    const shown = res.headers.get('content-type')?.includes('json')
      ? (JSON.parse(text) as { error_description: string }).error_description
      : text;
    expect(shown).not.toMatch(/[\u202e\u009b]/);
    expect(shown).not.toContain('to keep your tokens');
    if (shown !== text) expect(shown).toMatch(/^[\x20-\x7e]*$/);
  });
});
