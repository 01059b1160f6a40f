import { Hono } from 'hono';
import type { AppDeps } from '../deps.js';
import { BrokerError } from '../shared/errors.js';
import { adminRoutes } from './admin.js';
import { page } from './browser.js';
import { deviceRoutes } from './device.js';
import { assetRoutes } from './pages/assets.js';
import { personRoutes } from './person.js';
import { samlRoutes } from './saml.js';

/**
 * Browser SSO: /saml/*, the person's page (/, /tokens), the device flow's
 * approval page (/device), the operator's page (/admin) and their static files,
 * on the browser stack createApp composed (deps.browser). Without `sso.saml`
 * in the config these routes answer with a page that says so.
 */
export function ssoRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  app.route('/', assetRoutes());
  if (!deps.browser) {
    const off = page(() => {
      throw new BrokerError(
        'not_found',
        'browser login is not configured on this broker: add sso.saml to its config (see "Browser SSO" in the README, which comes with tokenbroker). To see it work first, run `npm start` in a folder without tokenbroker.yaml: the demo has a test IdP.',
        // "Go to your page" would lead back here: the message says where to go.
        { detail: { pageAction: null } },
      );
    });
    for (const path of [
      '/',
      '/saml/*',
      '/tokens',
      '/tokens/*',
      '/device',
      '/device/*',
      '/admin',
      '/admin/*',
    ]) {
      app.all(path, off);
    }
    return app;
  }
  const ctx = { deps, ...deps.browser };
  app.route('/', samlRoutes(ctx));
  app.route('/', personRoutes(ctx));
  app.route('/', deviceRoutes(ctx));
  app.route('/', adminRoutes(ctx));
  return app;
}
