import type { Context } from 'hono';
import type { Saml, Sso } from '../config/compile.js';
import type { AppDeps } from '../deps.js';
import { BrokerError } from '../errors.js';
import type { LoginBinding } from '../saml/login-binding.js';
import type { ServiceProvider } from '../saml/sp.js';
import type { Session, Sessions } from '../sessions/sessions.js';

/*
 * What the browser routes (saml.tsx, person.tsx) share. sso.ts mounts them
 * and they import this, never sso.ts, so no route module imports its parent.
 */

/** What the browser routes share: the SAML service provider and the sessions. */
export interface SsoContext {
  deps: AppDeps;
  sso: Sso;
  saml: Saml;
  sp: ServiceProvider;
  sessions: Sessions;
  /** Binds each SAML login to the browser that started it (login CSRF). */
  binding: LoginBinding;
}

/** A browser route: its errors render as a page (see http/errors.ts). */
export function page(handler: (c: Context) => Response | Promise<Response>) {
  return async function browserRoute(c: Context): Promise<Response> {
    c.set('errorFormat', 'html');
    return handler(c);
  };
}

export async function requireSession(ctx: SsoContext, c: Context): Promise<Session> {
  const session = await ctx.sessions.read(c);
  if (!session) {
    throw new BrokerError(
      'login_required',
      'you are not logged in, or your session has ended: log in again',
    );
  }
  return session;
}
