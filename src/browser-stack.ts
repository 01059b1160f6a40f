import type { AppDeps, BrowserStack } from './deps.js';
import { LoginBinding } from './saml/login-binding.js';
import { ServiceProvider } from './saml/sp.js';
import { Sessions } from './sessions/sessions.js';

/**
 * The browser login stack: the SAML service provider, the sessions and the
 * login binding, or undefined when the config has no `sso.saml` (the browser
 * routes then answer with a page that says so). Part of createApp's
 * composition, kept in its own file so that app.ts stays about the HTTP
 * surface; none of it knows the web framework, so it is built here and
 * handed to http/ ready-made.
 */
export function composeBrowser(
  deps: Pick<AppDeps, 'config' | 'store' | 'clock' | 'fetch' | 'logger'>,
): BrowserStack | undefined {
  const { config, store, clock } = deps;
  const sso = config.sso;
  const saml = sso?.saml;
  if (!sso || !saml) return undefined;
  // Cookies get Secure and the __Host- prefix only when browsers reach the
  // broker over https, which is what its issuer URL says.
  const secure = config.issuer.startsWith('https:');
  return {
    sso,
    saml,
    sp: new ServiceProvider({
      saml,
      issuer: config.issuer,
      store,
      clock,
      fetch: deps.fetch,
      logger: deps.logger,
    }),
    sessions: new Sessions({
      store,
      clock,
      ttl: sso.sessionTtl,
      idleTimeout: sso.sessionIdleTimeout,
      secure,
    }),
    binding: new LoginBinding({ clock, secure }),
  };
}
