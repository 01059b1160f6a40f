import type { Context } from 'hono';
import type { AppDeps, BrowserStack } from '../deps.js';
import { BrokerError } from '../shared/errors.js';
import { matchRoles, type CompiledRole } from '../policy/roles.js';
import { csrfMatches, type Session } from '../sessions/sessions.js';
import { readCookie } from './cookies.js';
import { htmlResponse } from './html.js';
import { renderPage } from './pages/layout.js';
import { readParams } from './params.js';

/*
 * What the browser routes (saml.tsx, person.tsx, device.tsx) share. sso.ts mounts them
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

/** The person's roles, matched again on every request, so a config change applies at once. */
export function rolesOf(ctx: SsoContext, session: Session): CompiledRole[] {
  const roles = matchRoles(ctx.deps.trust.roles, session.data.identity.claims);
  if (roles.length === 0) {
    throw new BrokerError(
      'no_access',
      'no role of this broker (sso.roles) includes you any more: ask your administrator for access',
    );
  }
  return roles;
}

/** A state-changing form of a logged-in person's page: its session, and its CSRF field checked. */
export async function formSession(
  ctx: SsoContext,
  c: Context,
): Promise<{ session: Session; params: Record<string, string> }> {
  const params = await readParams(c);
  const session = await requireSession(ctx, c);
  if (!csrfMatches(session, params.csrf)) {
    throw new BrokerError(
      'csrf_failed',
      'this form did not come from your page (missing or stale CSRF field): reload the page and try again',
    );
  }
  return { session, params };
}

/**
 * A logged-in person's page. Its header's logout form may redirect to the
 * IdP's logout URL, so the CSP's form-action names that origin too.
 */
export async function personalPage(
  ctx: SsoContext,
  c: Context,
  page: unknown,
  status: number,
): Promise<Response> {
  const idp = await ctx.sp.idpSettings();
  return htmlResponse(c, renderPage(page, c.get('pageLabel')), status, {
    formTargets: idp.sloUrl ? [new URL(idp.sloUrl).origin] : [],
  });
}
