import { Hono } from 'hono';
import type { AppDeps } from '../deps.js';
import { BrokerError } from '../errors.js';
import { LoginBinding } from '../saml/login-binding.js';
import { ServiceProvider } from '../saml/sp.js';
import { Sessions } from '../sessions/sessions.js';
import { page, type SsoContext } from './browser.js';
import { assetRoutes } from './pages/assets.js';
import { personRoutes } from './person.js';
import { samlRoutes } from './saml.js';

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
