import { afterEach, describe, expect, it } from 'vitest';
import { USER_CODE_ALPHABET, USER_CODE_LENGTH } from '../../src/exchange/device-codes.js';
import { WRONG_USER_CODES } from '../../src/rate-limit/user-codes.js';
import { authorize, inProcess } from '../helpers/device.js';
import { post, startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

// Guessing user codes on the approval page: only a logged-in person can try,
// and wrong codes are counted per address and on the whole broker, in
// one-minute windows on the broker's clock. The test broker runs with
// rate_limit: false, so these tests also show the limit stays on without it.

let t: SamlTestBroker;
afterEach(() => t?.cleanup());

async function setUp() {
  t = await startSamlBroker({
    clientAddress: (c) => c.req.header('x-test-address') ?? null,
  });
  expect(t.broker.config.rateLimit).toBe(false);
  const cookie = await t.login();
  const { user_code } = await authorize(inProcess(t));
  const look = (code: string, address: string) =>
    t.broker.app.request(`/device?user_code=${encodeURIComponent(code)}`, {
      headers: { Cookie: cookie, Accept: 'text/html', 'X-Test-Address': address },
    });
  return { cookie, user_code, look };
}

/** The n-th of a run of codes: each is the random live one with odds of 1 in 2.56e10. */
const wrong = (n: number) =>
  `BBBB${USER_CODE_ALPHABET[n % 20]}${USER_CODE_ALPHABET[(n / 20) | 0]}BB`;

describe('guessing user codes', () => {
  it('keeps guessing hopeless: in a code’s 10 minutes the broker hears at most 1,100 wrong codes out of 2.56e10', () => {
    const space = USER_CODE_ALPHABET.length ** USER_CODE_LENGTH;
    expect(space).toBe(2.56e10);
    // A 600 s span touches at most 11 one-minute windows.
    const windows = Math.ceil(600 / WRONG_USER_CODES.windowSeconds) + 1;
    const guesses = windows * WRONG_USER_CODES.everywhere;
    expect(guesses).toBe(1100);
    expect(guesses / space).toBeLessThan(5e-8); // one given code
    expect((1000 * guesses) / space).toBeLessThan(5e-5); // any of 1,000 live codes
    expect(WRONG_USER_CODES.perAddress).toBeGreaterThanOrEqual(5); // room for a person's typos
  });

  it('refuses an address after 10 wrong codes in a minute, the right code too, until the window closes', async () => {
    const { user_code, look } = await setUp();
    for (let i = 0; i < 10; i++) {
      const res = await look(wrong(i), '198.51.100.1');
      expect(res.status).toBe(404);
    }
    const refused = await look(user_code, '198.51.100.1');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await refused.text()).toContain('too many wrong codes from your address (10 a minute)');
    // Another address is not held back by this one.
    expect((await look(user_code, '198.51.100.2')).status).toBe(200);
    t.clock.advance(60);
    expect((await look(user_code, '198.51.100.1')).status).toBe(200);
    const rows = await t.broker.store.queryAudit({ event: 'device.guess_limit' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      subject: 'user:alice@example.com',
      clientAddress: '198.51.100.1',
      reason: 'too many wrong user codes from this address',
    });
  });

  it('refuses every address once the broker has heard 100 wrong codes in a minute', async () => {
    const { user_code, look } = await setUp();
    for (let a = 0; a < 10; a++) {
      for (let i = 0; i < 10; i++) {
        expect((await look(wrong(a * 10 + i), `198.51.100.${a}`)).status).toBe(404);
      }
    }
    const refused = await look(user_code, '203.0.113.50');
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain(
      'too many wrong codes were tried on this broker just now',
    );
    t.clock.advance(60);
    expect((await look(user_code, '203.0.113.50')).status).toBe(200);
    const reasons = (await t.broker.store.queryAudit({ event: 'device.guess_limit' })).map(
      (r) => r.reason,
    );
    expect(reasons.filter((r) => r === 'too many wrong user codes on this broker')).toHaveLength(1);
  });

  it('counts neither malformed codes nor the right one', async () => {
    const { user_code, look } = await setUp();
    for (let i = 0; i < 20; i++) {
      expect((await look('AEIOU', '198.51.100.1')).status).toBe(400);
      expect((await look(user_code, '198.51.100.1')).status).toBe(200);
    }
    expect((await look(wrong(0), '198.51.100.1')).status).toBe(404);
  });

  it('counts codes guessed through a forged Approve as well', async () => {
    const { cookie, user_code, look } = await setUp();
    const html = await (await look(user_code, '198.51.100.1')).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    for (let i = 0; i < 10; i++) {
      const res = await post(t, '/device/approve', cookie, { csrf, user_code: wrong(i) });
      expect(res.status).toBe(404);
    }
    // The test's post() sends no address: the guesses counted for "unknown".
    const res = await t.broker.app.request('/device/approve', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
      body: new URLSearchParams({ csrf, user_code }).toString(),
    });
    expect(res.status).toBe(429);
    expect((await t.broker.store.getDeviceCodeByUserCode(user_code.replace('-', '')))?.status).toBe(
      'pending',
    );
  });
});
