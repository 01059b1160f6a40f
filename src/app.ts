import { Hono, type Context } from 'hono';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import { secureHeaders } from 'hono/secure-headers';
import { LoginBinding } from './saml/login-binding.js';
import { ServiceProvider } from './saml/sp.js';
import { Sessions } from './sessions/sessions.js';
import { nowSeconds, systemClock, type Clock } from './shared/clock.js';
import { BrokerError } from './shared/errors.js';
import { discoveryRoutes } from './http/discovery.js';
import { bodyLimit } from './http/body-limit.js';
import { CLIENT_CLOSED, clientClosed, errorResponse } from './http/errors.js';
import { introspectHandler } from './http/introspect.js';
import { meHandler } from './http/me.js';
import { revokeHandler } from './http/revoke.js';
import { ssoRoutes } from './http/sso.js';
import { SCIM_BASE, scimRoutes } from './http/scim.js';
import { scimErrorResponse } from './http/scim-errors.js';
import { tokenHandler } from './http/token.js';
import { deviceAuthorizationHandler } from './http/device-authorization.js';
import { silentLogger, type Logger } from './shared/log.js';
import { noMetrics, type Metrics } from './shared/metrics.js';
import { Minter } from './tokens/mint.js';
import { Exchange } from './exchange/exchange.js';
import { DeviceFlow } from './exchange/device-flow.js';
import { compileTrust } from './policy/compile.js';
import { webCryptoBackend } from './jws/backend.js';
import { CiVerifier } from './oidc/verify.js';
import { RateLimits } from './rate-limit/limits.js';
import { WrongUserCodes } from './rate-limit/user-codes.js';
import type { AppDeps, AppOptions, BrowserStack } from './deps.js';
import { inMemoryLimiters } from './rate-limit/fixed-window.js';

export type { AppDeps, AppOptions } from './deps.js';

const BODY_LIMIT = 64 * 1024;

export function createApp(options: AppOptions): Hono {
  const clock = options.clock ?? systemClock;
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? noMetrics;
  const cryptoBackend = options.crypto ?? webCryptoBackend;
  const limiters = options.rateLimiter ?? inMemoryLimiters(clock);
  const core = {
    config: options.config,
    trust: options.trust ?? compileTrust(options.config),
    store: options.store,
    keys: options.keys,
    clock,
    fetch: fetchImpl,
    logger,
    metrics,
    clientAddress: options.clientAddress,
    crypto: cryptoBackend,
    minter: new Minter({
      store: options.store,
      keys: options.keys,
      clock,
      issuer: options.config.issuer,
      audience: options.config.tokens.audience,
      crypto: cryptoBackend,
    }),
    ci: new CiVerifier(options.config.ci.providers, {
      fetch: fetchImpl,
      clock,
      logger,
      crypto: cryptoBackend,
      jwksCache: options.jwksCache,
      metrics,
    }),
    rateLimits: options.config.rateLimit
      ? new RateLimits(options.config.rateLimit, limiters)
      : undefined,
    browser: composeBrowser({
      config: options.config,
      store: options.store,
      clock,
      fetch: fetchImpl,
      logger,
    }),
  };
  const device = new DeviceFlow({
    config: options.config,
    store: options.store,
    clock,
    // Always on, whatever rate_limit says: see rate-limit/user-codes.ts.
    wrongCodes: new WrongUserCodes(limiters),
  });
  const deps: AppDeps = { ...core, exchange: new Exchange(core), device };
  const sessions = deps.browser?.sessions;
  if (sessions) metrics.liveSessions(() => sessions.live());

  const app = new Hono();
  app.use(requestId());
  const label = options.pageLabel;
  if (label) {
    app.use(async (c, next) => {
      c.set('pageLabel', label);
      await next();
    });
  }
  app.use(secureHeaders({ crossOriginResourcePolicy: 'same-origin' }));
  app.use(accessLog(deps.logger, metrics, clock, options.timedOut));
  app.use(bodyLimit(BODY_LIMIT));

  app.route('/', discoveryRoutes(deps));
  const token = tokenHandler(deps);
  app.post('/token', token);
  app.post('/oauth/token', token);
  app.post('/device_authorization', deviceAuthorizationHandler(deps));
  app.post('/introspect', introspectHandler(deps));
  app.post('/revoke', revokeHandler(deps));
  app.get('/me', meHandler(deps));
  app.route('/', ssoRoutes(deps));
  const scim = options.config.scim;
  if (scim) app.route(SCIM_BASE, scimRoutes(deps, scim));
  // A body refused by the size limit under /scim/v2 is answered as SCIM answers errors.
  const scimPath = (c: Context) =>
    scim !== undefined && (c.req.path === SCIM_BASE || c.req.path.startsWith(`${SCIM_BASE}/`));

  app.notFound((c) =>
    errorResponse(
      new BrokerError(
        'not_found',
        `no such endpoint ${c.req.method} ${c.req.path}: see /.well-known/oauth-authorization-server`,
      ),
      c,
      deps.logger,
    ),
  );
  app.onError((err, c) =>
    scimPath(c) ? scimErrorResponse(err, c, deps.logger) : errorResponse(err, c, deps.logger),
  );
  return app;
}

/**
 * Removes expired rows (the store's, plus whatever `more` prunes for the
 * runtime, such as Workers' rate-limit windows) and logs how many; a failure
 * is logged, never thrown, so a timer or a cron run cannot take the broker
 * down. Node calls it every ten minutes, Workers from the Cron Trigger.
 */
export async function pruneExpired(
  deps: Pick<AppOptions, 'store' | 'config'> & { clock: Clock; logger: Logger },
  more?: (nowMs: number) => Promise<Record<string, number>>,
): Promise<void> {
  const { store, config, clock, logger } = deps;
  try {
    const counts = await store.prune(nowSeconds(clock), config.audit.retentionSeconds);
    logger.info('pruned expired rows', { ...counts, ...(more ? await more(clock.now()) : {}) });
  } catch (e) {
    logger.error('prune failed', { error: e });
  }
}

/**
 * One line per request: request id, method, path, the route that answered,
 * status, time; never the query, a header or the body, which is where tokens,
 * secrets, codes and cookies travel. The same numbers feed the latency
 * histogram, by route pattern. A client that hung up before its answer is
 * logged with status 499, one the server cut for sending too slowly with the
 * 408 it was sent, at info level like every request: neither is a server error.
 */
function accessLog(
  logger: Logger,
  metrics: Metrics,
  clock: Clock,
  timedOut: AppOptions['timedOut'],
) {
  return async function log(c: Context, next: () => Promise<void>) {
    const start = clock.now();
    await next();
    const gone = clientClosed(c);
    const status = !gone ? c.res.status : timedOut?.(c) ? 408 : CLIENT_CLOSED;
    const ms = clock.now() - start;
    const route = routeOf(c);
    const { method, path } = c.req;
    logger.info('request', { requestId: c.get('requestId'), method, path, route, status, ms });
    metrics.request({
      method: METHODS.has(method) ? method : 'OTHER',
      route,
      status,
      seconds: ms / 1000,
    });
  };
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The pattern of the last route matched (`/tokens/:jti/revoke`), which the
 * code fixes, never the path, which the caller picks: a label per path would
 * let anyone create series. Middleware alone (`*`) means no route matched.
 */
function routeOf(c: Context): string {
  const path = matchedRoutes(c).at(-1)?.path;
  return path === undefined || path === '*' || path === '/*' ? 'unmatched' : path;
}

/**
 * The browser login stack: the SAML service provider, the sessions and the
 * login binding, or undefined when the config has no `sso.saml` (the browser
 * routes then answer with a page that says so). None of it knows
 * the web framework: it is built here and handed to http/ ready-made.
 */
function composeBrowser(
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
