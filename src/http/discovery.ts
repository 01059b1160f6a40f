import { Hono } from 'hono';
import type { AppDeps } from '../deps.js';
import { nowSeconds } from '../shared/clock.js';
import { GRANT_DEVICE_CODE, GRANT_TOKEN_EXCHANGE } from '../protocol/oauth.js';

/** RFC 8414 metadata, the JWKS, and the health probes. */
export function discoveryRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const { issuer } = deps.config;

  // The device flow needs a person to approve each code, so it is offered only with browser login.
  const device = deps.browser !== undefined;

  app.get('/.well-known/oauth-authorization-server', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({
      issuer,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      introspection_endpoint: `${issuer}/introspect`,
      revocation_endpoint: `${issuer}/revoke`,
      ...(device ? { device_authorization_endpoint: `${issuer}/device_authorization` } : {}),
      grant_types_supported: device
        ? [GRANT_TOKEN_EXCHANGE, GRANT_DEVICE_CODE]
        : [GRANT_TOKEN_EXCHANGE],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
      revocation_endpoint_auth_methods_supported: ['none'],
    });
  });

  app.get('/jwks', async (c) => {
    // Short: a rotation must reach resource servers quickly.
    c.header('Cache-Control', 'public, max-age=60');
    c.header('Content-Type', 'application/jwk-set+json');
    return c.body(JSON.stringify(await deps.keys.jwks(nowSeconds(deps.clock))));
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    let problems: string[];
    try {
      // A copy: callers at the same time share the store's answer.
      problems = [...(await deps.store.readiness())];
    } catch {
      problems = ['database does not answer'];
    }
    if (!deps.keys.ready) problems.push('no signing key loaded');
    return problems.length
      ? c.json({ status: 'unavailable', problems }, 503)
      : c.json({ status: 'ready' });
  });

  return app;
}
