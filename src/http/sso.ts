import { Hono, type Context } from 'hono';
import type { AppDeps } from '../deps.js';
import type { Saml, Sso } from '../config/compile.js';
import { BrokerError } from '../errors.js';
import { LoginBinding } from '../saml/login-binding.js';
import { ServiceProvider } from '../saml/sp.js';
import { Sessions, type Session } from '../sessions/sessions.js';
import { assetRoutes } from './pages/assets.js';
import { personRoutes } from './person.js';
import { samlRoutes } from './saml.js';

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

/**
 * Browser SSO: /saml/*, the person's page (/, /tokens) and its static files.
 * Without `sso.saml` in the config these routes answer with a page that says so.
 */
export function ssoRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  app.route('/', assetRoutes());
  const sso = deps.config.sso;
  const saml = sso?.saml;
  if (!sso || !saml) {
    const off = page(() => {
      throw new BrokerError(
        'not_found',
        'browser login is not configured on this broker: add sso.saml to its config (see Browser SSO in the README)',
      );
    });
    for (const path of ['/', '/saml/*', '/tokens', '/tokens/*']) app.all(path, off);
    return app;
  }
  const secure = deps.config.issuer.startsWith('https:');
  const ctx: SsoContext = {
    deps,
    sso,
    saml,
    sp: new ServiceProvider({
      saml,
      issuer: deps.config.issuer,
      store: deps.store,
      clock: deps.clock,
      fetch: deps.fetch,
      logger: deps.logger,
    }),
    sessions: new Sessions({
      store: deps.store,
      clock: deps.clock,
      ttl: sso.sessionTtl,
      idleTimeout: sso.sessionIdleTimeout,
      secure,
    }),
    binding: new LoginBinding({ clock: deps.clock, secure }),
  };
  app.route('/', samlRoutes(ctx));
  app.route('/', personRoutes(ctx));
  return app;
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
