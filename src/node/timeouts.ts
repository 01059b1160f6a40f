import type { ServerOptions } from 'node:http';

/**
 * Concurrent connections the server keeps open; beyond it the oldest one not
 * being answered is closed (see capConnections). Each connection costs a file
 * descriptor and the common soft limit is 1024 per process: 512 leaves the
 * other half for the database, outbound JWKS fetches and the log, so a flood
 * of connections fills the cap, never the descriptor table. A single broker
 * serves far fewer concurrent clients than this (a request takes
 * milliseconds).
 */
export const MAX_CONNECTIONS = 512;

/** Idle time a keep-alive connection is kept between two requests. */
const KEEP_ALIVE_MS = 5_000;

/** The most a shutdown waits for requests in flight before closing them. */
export const SHUTDOWN_GRACE_CAP_MS = 5_000;

/**
 * Node's HTTP server limits from `limits.request_timeout`. Node only checks
 * request and header deadlines every `connectionsCheckingInterval` (30 s by
 * default, which let a slow client hold a connection for 300 s + 30 s); the
 * check is a walk over the open connections, cheap at MAX_CONNECTIONS, so it
 * runs every second or a quarter of the timeout, whichever is shorter.
 */
export function connectionLimits(
  requestTimeoutSeconds: number,
  maxConnections = MAX_CONNECTIONS,
): { serverOptions: ServerOptions; maxConnections: number } {
  const requestTimeout = requestTimeoutSeconds * 1000;
  return {
    maxConnections,
    serverOptions: {
      // The whole request, headers and body, must arrive within the timeout.
      requestTimeout,
      headersTimeout: requestTimeout,
      keepAliveTimeout: Math.min(KEEP_ALIVE_MS, requestTimeout),
      connectionsCheckingInterval: Math.max(50, Math.min(1000, requestTimeout / 4)),
    },
  };
}

/**
 * How long a shutdown lets requests in flight finish: a request still
 * arriving after `request_timeout` is cut anyway, so waiting longer is
 * pointless, and the cap stays under `docker stop`'s 10 s before SIGKILL.
 */
export function shutdownGraceMs(requestTimeoutSeconds: number): number {
  return Math.min(requestTimeoutSeconds * 1000, SHUTDOWN_GRACE_CAP_MS);
}
