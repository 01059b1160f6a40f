import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import type { CookieInstruction } from '../../src/shared/cookies.js';
import { BrokerError } from '../../src/shared/errors.js';
import { LOGIN_TTL_SECONDS, LoginBinding } from '../../src/saml/login-binding.js';

/**
 * The login binding as plain values: the login cookie's value in, the cookie
 * to set out. The same behaviour through the routes is in login-csrf.test.ts;
 * here each rule is reached directly, on a clock the test moves.
 */
const START = Date.UTC(2026, 0, 15, 12);

function binding(secure = true) {
  const clock = new ManualClock(START);
  return { clock, binding: new LoginBinding({ clock, secure }) };
}

const idsIn = (cookie: string) => cookie.split('.').map((entry) => entry.split('~')[0]);

/** What `require` refuses with, or a failure if it accepts. */
function refusal(f: () => unknown): BrokerError {
  try {
    f();
  } catch (e) {
    if (e instanceof BrokerError) return e;
    throw e;
  }
  throw new Error('the login binding accepted what it should refuse');
}

describe('LoginBinding cookie instructions', () => {
  it.each([
    {
      issuer: 'https',
      secure: true,
      attributes: { name: '__Host-tb_saml_login', secure: true, sameSite: 'None' },
    },
    {
      issuer: 'plain http',
      secure: false,
      attributes: { name: 'tb_saml_login', secure: false, sameSite: 'Lax' },
    },
  ])(
    'sets an HttpOnly cookie for 30 minutes with the $issuer attributes',
    ({ secure, attributes }) => {
      const { binding: b } = binding(secure);
      expect(b.cookieName).toBe(attributes.name);
      const { id, cookie } = b.start(undefined);
      expect(id).toMatch(/^_[A-Za-z0-9_-]{27}$/);
      expect(cookie).toEqual<CookieInstruction>({
        ...attributes,
        value: `${id}~${START / 1000}`,
        maxAge: LOGIN_TTL_SECONDS,
        path: '/',
        httpOnly: true,
      } as CookieInstruction);
    },
  );

  it('keeps the four most recent logins under way in one browser (tabs), never more', () => {
    const { binding: b } = binding();
    let cookie: string | undefined;
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const started = b.start(cookie);
      ids.push(started.id);
      cookie = started.cookie.value;
    }
    expect(idsIn(cookie!)).toEqual(ids.slice(-4));
  });

  it('drops a login older than 30 minutes when another starts, and keeps one exactly 30 minutes old', () => {
    const { clock, binding: b } = binding();
    const first = b.start(undefined);
    clock.advance(60);
    const second = b.start(first.cookie.value);
    clock.advance(LOGIN_TTL_SECONDS);
    const third = b.start(second.cookie.value);
    expect(idsIn(third.cookie.value)).toEqual([second.id, third.id]);
  });

  it('finishing a login keeps the others, and clears the cookie with the same attributes when none is left', () => {
    const { binding: b } = binding();
    const first = b.start(undefined);
    const second = b.start(first.cookie.value);
    const rest = b.finish(second.cookie.value, first.id);
    expect(rest.value).toBe(first.cookie.value.replace(first.id, second.id));
    expect(rest.maxAge).toBe(LOGIN_TTL_SECONDS);
    expect(b.finish(rest.value, second.id)).toEqual({
      ...first.cookie,
      value: '',
      maxAge: 0,
    });
  });
});

describe('LoginBinding.require', () => {
  it('returns the login the response answers and when it started', () => {
    const { clock, binding: b } = binding();
    const { id, cookie } = b.start(undefined);
    clock.advance(LOGIN_TTL_SECONDS);
    expect(b.require(cookie.value, id)).toEqual({ id, startedAt: START / 1000 });
  });

  const cases: Array<{
    name: string;
    cookie: (started: { id: string; value: string }) => string | undefined;
    secure?: boolean;
    message: string;
  }> = [
    {
      name: 'no login cookie at all',
      cookie: () => undefined,
      message: 'this browser did not start this login (its login cookie is missing)',
    },
    {
      name: 'no login cookie, on a plain-http broker (says why SameSite matters)',
      cookie: () => undefined,
      secure: false,
      message: 'over plain http the IdP must be on the same site as the broker',
    },
    {
      name: "a cookie for another login (the attacker's response in the victim's browser)",
      cookie: () => `_${'b'.repeat(27)}~${START / 1000}`,
      message: 'answers a login that was not started in this browser',
    },
    {
      name: 'the right entry with a tampered id',
      cookie: ({ id, value }) =>
        value.replace(id, id.slice(0, -1) + (id.endsWith('x') ? 'y' : 'x')),
      message: 'answers a login that was not started in this browser',
    },
    {
      name: 'the right entry padded past the size the broker writes',
      cookie: ({ value }) => `${value}.${'_'.repeat(600)}`,
      message: 'answers a login that was not started in this browser',
    },
    {
      name: 'the right id with a timestamp that does not parse',
      cookie: ({ id }) => `${id}~1e9`,
      message: 'answers a login that was not started in this browser',
    },
  ];

  it.each(cases)('refuses $name', ({ cookie, secure = true, message }) => {
    const { binding: b } = binding(secure);
    const { id, cookie: set } = b.start(undefined);
    const e = refusal(() => b.require(cookie({ id, value: set.value }), id));
    expect(e.code).toBe('saml_invalid');
    expect(e.message).toContain(message);
    expect(e.message).toContain('start again from this site');
    expect(e.detail).toEqual({ check: 'login_binding' });
  });

  it.each([
    { name: 'started more than 30 minutes ago', offset: -(LOGIN_TTL_SECONDS + 1) },
    { name: 'dated more than 30 minutes in the future', offset: LOGIN_TTL_SECONDS + 1 },
  ])('refuses a login $name, with its age in the detail', ({ offset }) => {
    const { binding: b } = binding();
    const id = `_${'a'.repeat(27)}`;
    const e = refusal(() => b.require(`${id}~${START / 1000 + offset}`, id));
    expect(e.message).toContain('took too long: start again from this site');
    expect(e.detail).toEqual({ check: 'login_binding', ageSeconds: -offset });
  });
});
