import type { Context } from 'hono';
import type { AppDeps, BrowserStack } from '../deps.js';
import { BrokerError } from '../shared/errors.js';
import type { Session } from '../sessions/sessions.js';
import { readCookie } from './cookies.js';

/*
 * What the browser routes (saml.tsx, person.tsx) share. sso.ts mounts them
 * and they import this, never sso.ts, so no route module imports its parent.
 */

/** The browser stack createApp composed, with the rest of the app's dependencies. */
export interface SsoContext extends BrowserStack {
  deps: AppDeps;
}

/** A browser route: its errors render as a page (see http/errors.ts). */
export function page(handler: (c: Context) => Response | Promise<Response>) {
  return async function browserRoute(c: Context): Promise<Response> {
    c.set('errorFormat', 'html');
    return handler(c);
  };
}

/** The live session of this request's browser, or undefined. */
export function readSession(ctx: SsoContext, c: Context): Promise<Session | undefined> {
  return ctx.sessions.read(readCookie(c, ctx.sessions.cookieName));
}

export async function requireSession(ctx: SsoContext, c: Context): Promise<Session> {
  const session = await readSession(ctx, c);
  if (!session) {
    throw new BrokerError(
      'login_required',
      'you are not logged in, or your session has ended: log in again',
    );
  }
  return session;
}
