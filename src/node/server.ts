import { serve, type HttpBindings, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, pruneExpired } from '../app.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { Config } from '../config/compile.js';
import type { Trust } from '../policy/compile.js';
import { jsonLogger, type Logger } from '../shared/log.js';
import { stdoutLine } from './log-writer.js';
import { openBroker } from './open.js';
import { nodeCrypto } from './crypto.js';
import { capConnections } from './connection-cap.js';
import { PrometheusMetrics } from './metrics.js';
import { metricsHandler } from './metrics-route.js';
import { connectionLimits, shutdownGraceMs } from './timeouts.js';

export interface RunningServer {
  url: string;
  /**
   * Stops accepting connections, lets requests in flight finish for at most
   * the shutdown grace, then closes every connection left and the database.
   */
  close(): Promise<void>;
}

export interface ServerOptions {
  host?: string;
  port?: number;
  logger?: Logger;
  clock?: Clock;
  cwd?: string;
  /** The config's policies and roles, already compiled by the loader (loadConfigFile). */
  trust?: Trust;
  /** Concurrent connections kept open; see MAX_CONNECTIONS and capConnections. */
  maxConnections?: number;
  /** More routes on the same listener, after the broker's (the demo's /demo/*). */
  routes?: Hono;
  /** A word in every page's header (AppOptions.pageLabel). */
  pageLabel?: string;
}

const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** The Node entry point: real SQLite, real clock, real fetch, a listening socket. */
export async function startServer(
  config: Config,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? jsonLogger(stdoutLine);
  const { store, keys } = await openBroker(config, { clock, cwd: options.cwd });
  const metrics = new PrometheusMetrics(logger);
  const app = createApp({
    config,
    trust: options.trust,
    ...(options.pageLabel ? { pageLabel: options.pageLabel } : {}),
    store,
    keys,
    clock,
    logger,
    clientAddress: (c) => getConnInfo(c).remote.address ?? null,
    // Node destroys the socket of a request past its requestTimeout with this error (and answers 408).
    timedOut: (c) =>
      ((c.env as HttpBindings).incoming.socket?.errored as NodeJS.ErrnoException | null)?.code ===
      'ERR_HTTP_REQUEST_TIMEOUT',
    crypto: nodeCrypto(),
    metrics,
  });
  // Node only: Workers have their own analytics, and their /metrics stays a 404.
  app.get('/metrics', metricsHandler(metrics, config.metrics.tokenSha256));

  const prune = () => pruneExpired({ store, config, clock, logger });
  await prune();
  const timer = setInterval(prune, PRUNE_EVERY_MS);
  timer.unref();
  if (options.routes) app.route('/', options.routes);

  const limits = connectionLimits(config.limits.requestTimeoutSeconds, options.maxConnections);
  const host = options.host ?? config.listen.host;
  let server: ServerType;
  try {
    server = await new Promise((resolveServer, reject) => {
      const s = serve(
        {
          fetch: app.fetch,
          hostname: host,
          port: options.port ?? config.listen.port,
          serverOptions: limits.serverOptions,
        },
        () => resolveServer(s),
      );
      s.once('error', reject);
    });
  } catch (e) {
    // A port in use: the database's writer thread would otherwise keep the process alive.
    clearInterval(timer);
    await store.close();
    throw e;
  }
  const http = server as Server;
  capConnections(http, limits.maxConnections, logger);
  // Responses not yet sent when shutdown starts say `Connection: close`, so a
  // keep-alive client does not send its next request to a closing server.
  const inFlight = new Set<ServerResponse>();
  let shuttingDown = false;
  http.on('request', (_req, res: ServerResponse) => {
    if (shuttingDown) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info('tokenbroker listening', { url, issuer: config.issuer });

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        shuttingDown = true;
        for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
        await closeWithin(http, shutdownGraceMs(config.limits.requestTimeoutSeconds), logger);
        await store.close();
      })();
      return closing;
    },
  };
}

/**
 * `server.close()` stops listening and closes idle keep-alive connections at
 * once; requests in flight are answered (with `Connection: close`) if they end
 * within `graceMs`. Whatever is still open then (a client still sending its
 * request, a slow reader) is cut, so shutdown never waits on a client.
 */
async function closeWithin(server: Server, graceMs: number, logger: Logger): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  const deadline = setTimeout(() => {
    logger.warn('shutdown grace over: closing connections still open', { graceMs });
    server.closeAllConnections();
  }, graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(deadline);
  }
}
