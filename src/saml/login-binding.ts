import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import { clearCookie, cookieName, type CookieInstruction } from '../shared/cookies.js';
import { BrokerError } from '../shared/errors.js';
import { randomId } from '../shared/crypto.js';

/** How long a login may take at the IdP (MFA enrolment included). */
export const LOGIN_TTL_SECONDS = 30 * 60;
/** Logins one browser may have under way at once (several tabs). */
const MAX_PENDING = 4;
/** Four entries of about 40 characters each are written; a much longer value did not come from here and is not parsed. */
const MAX_COOKIE_LENGTH = 600;
const ENTRY = /^(_[A-Za-z0-9_-]{16,64})~(\d{1,12})$/;

export interface PendingLogin {
  id: string;
  startedAt: number;
}

/**
 * Binds a SAML login to the browser that started it, against login CSRF
 * (an attacker posting a response for *their* account into a victim's
 * browser). `GET /saml/login` puts the AuthnRequest id in an HttpOnly cookie;
 * `POST /saml/acs` accepts a solicited response only from a browser whose
 * cookie holds its InResponseTo. The cookie is the only state of a login
 * under way: nothing is written to the database before the IdP answers, so
 * `/saml/login` cannot be used to fill it, and a login still finishes on
 * another instance or after a restart.
 *
 * The IdP's POST to the ACS is a cross-site request, which carries only
 * `SameSite=None` cookies; browsers accept those only with `Secure`. So:
 * - https issuer: `__Host-tb_saml_login`, `Secure; SameSite=None`;
 * - plain http issuer (loopback development, tests): `SameSite=Lax`, which a
 *   browser still sends on the ACS POST when the IdP is on the same site
 *   (the same host, any port, e.g. 127.0.0.1): a plain-http broker with an
 *   IdP on another site cannot complete a solicited login.
 *
 * Each method takes the value of this browser's login cookie (`cookieName`)
 * as it arrived, or undefined; those that change it return the cookie to set.
 */
export class LoginBinding {
  readonly cookieName: string;

  constructor(private readonly o: { clock: Clock; secure: boolean }) {
    this.cookieName = cookieName('tb_saml_login', o.secure);
  }

  /** A fresh AuthnRequest id, and the cookie that remembers it in this browser. */
  start(cookie: string | undefined): { id: string; cookie: CookieInstruction } {
    const id = `_${randomId(20)}`;
    const now = nowSeconds(this.o.clock);
    const kept = pending(cookie)
      .filter((p) => now - p.startedAt <= LOGIN_TTL_SECONDS)
      .slice(-(MAX_PENDING - 1));
    return { id, cookie: this.write([...kept, { id, startedAt: now }]) };
  }

  /**
   * Checks that this browser started the login `inResponseTo` answers, and
   * not too long ago; returns when it started.
   */
  require(cookie: string | undefined, inResponseTo: string): PendingLogin {
    const found = pending(cookie).find((p) => p.id === inResponseTo);
    if (!found) {
      throw new BrokerError(
        'saml_invalid',
        cookie !== undefined
          ? 'this login response answers a login that was not started in this browser: start again from this site'
          : 'this browser did not start this login (its login cookie is missing): start again from this site, with cookies allowed' +
              (this.o.secure
                ? ''
                : '; over plain http the IdP must be on the same site as the broker (e.g. both on 127.0.0.1), since browsers send no SameSite=None cookie without https'),
        { detail: { check: 'login_binding' } },
      );
    }
    const age = nowSeconds(this.o.clock) - found.startedAt;
    if (age > LOGIN_TTL_SECONDS || age < -LOGIN_TTL_SECONDS) {
      throw new BrokerError(
        'saml_invalid',
        'this login response does not answer a login started here, or it was already used or took too long: start again from this site',
        { detail: { check: 'login_binding', ageSeconds: age } },
      );
    }
    return found;
  }

  /** Forgets a login once it is finished; returns the cookie that still holds the others. */
  finish(cookie: string | undefined, id: string): CookieInstruction {
    return this.write(pending(cookie).filter((p) => p.id !== id));
  }

  /** The cookie holding `logins`, or clearing it when there are none left. */
  private write(logins: PendingLogin[]): CookieInstruction {
    const { secure } = this.o;
    const attributes: Omit<CookieInstruction, 'value' | 'maxAge'> = {
      name: this.cookieName,
      path: '/',
      httpOnly: true,
      secure,
      sameSite: secure ? 'None' : 'Lax',
    };
    if (logins.length === 0) return clearCookie(attributes);
    return {
      ...attributes,
      value: logins.map((p) => `${p.id}~${p.startedAt}`).join('.'),
      maxAge: LOGIN_TTL_SECONDS,
    };
  }
}

/** The logins a cookie value holds; entries that do not parse are dropped. */
function pending(cookie: string | undefined): PendingLogin[] {
  if (!cookie || cookie.length > MAX_COOKIE_LENGTH) return [];
  const out: PendingLogin[] = [];
  for (const part of cookie.split('.')) {
    const m = ENTRY.exec(part);
    if (m) out.push({ id: m[1]!, startedAt: Number(m[2]) });
  }
  return out;
}
