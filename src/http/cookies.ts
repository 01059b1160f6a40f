import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { CookieInstruction } from '../shared/cookies.js';

/*
 * The one place the browser's cookies meet Hono: sessions/ and
 * saml/login-binding decide what a cookie holds and how it is set (see
 * src/cookies.ts); routes read its value here and write the answer back.
 */

/** The value of the cookie `name` on this request, or undefined. */
export function readCookie(c: Context, name: string): string | undefined {
  return getCookie(c, name);
}

/** Adds a Set-Cookie header for each instruction, in order; undefined ones mean no change. */
export function writeCookies(c: Context, ...cookies: Array<CookieInstruction | undefined>): void {
  for (const cookie of cookies) {
    if (!cookie) continue;
    setCookie(c, cookie.name, cookie.value, {
      maxAge: cookie.maxAge,
      path: cookie.path,
      httpOnly: cookie.httpOnly,
      secure: cookie.secure,
      ...(cookie.sameSite ? { sameSite: cookie.sameSite } : {}),
    });
  }
}
