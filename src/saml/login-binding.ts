import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Clock } from '../clock.js';
import { nowSeconds } from '../clock.js';
import { BrokerError } from '../errors.js';
import { randomId } from '../tokens/crypto.js';

/** How long a login may take at the IdP (MFA enrolment included). */
export const LOGIN_TTL_SECONDS = 30 * 60;
/** Logins one browser may have under way at once (several tabs). */
const MAX_PENDING = 4;
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
 */
export class LoginBinding {
  private readonly cookieName: string;

  constructor(private readonly o: { clock: Clock; secure: boolean }) {
    this.cookieName = o.secure ? '__Host-tb_saml_login' : 'tb_saml_login';
  }

  /** A fresh AuthnRequest id, remembered in this browser's cookie. */
  start(c: Context): string {
    const id = `_${randomId(20)}`;
    const now = nowSeconds(this.o.clock);
    const kept = this.pending(c)
      .filter((p) => now - p.startedAt <= LOGIN_TTL_SECONDS)
      .slice(-(MAX_PENDING - 1));
    this.write(c, [...kept, { id, startedAt: now }]);
    return id;
  }

  /**
   * Checks that this browser started the login `inResponseTo` answers, and
   * not too long ago; returns when it started.
   */
  require(c: Context, inResponseTo: string): PendingLogin {
    const found = this.pending(c).find((p) => p.id === inResponseTo);
    if (!found) {
      throw new BrokerError(
        'saml_invalid',
        getCookie(c, this.cookieName) !== undefined
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

  /** Forgets a login once it is finished (or refused for good). */
  finish(c: Context, id: string): void {
    this.write(
      c,
      this.pending(c).filter((p) => p.id !== id),
    );
  }

  private pending(c: Context): PendingLogin[] {
    const raw = getCookie(c, this.cookieName);
    if (!raw || raw.length > 600) return [];
    const out: PendingLogin[] = [];
    for (const part of raw.split('.')) {
      const m = ENTRY.exec(part);
      if (m) out.push({ id: m[1]!, startedAt: Number(m[2]) });
    }
    return out;
  }

  private write(c: Context, pending: PendingLogin[]): void {
    const options = this.o.secure
      ? ({ path: '/', httpOnly: true, secure: true, sameSite: 'None' } as const)
      : ({ path: '/', httpOnly: true, sameSite: 'Lax' } as const);
    if (pending.length === 0) {
      deleteCookie(c, this.cookieName, options);
      return;
    }
    setCookie(c, this.cookieName, pending.map((p) => `${p.id}~${p.startedAt}`).join('.'), {
      ...options,
      maxAge: LOGIN_TTL_SECONDS,
    });
  }
}
