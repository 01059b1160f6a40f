import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AddressInfo } from 'node:net';
import { createApp } from '../app.js';
import { nowSeconds, systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/compile.js';
import { jsonLogger, type Logger } from '../log.js';
import { stdoutLine } from './log-writer.js';
import { openBroker } from './open.js';
import { nodeCrypto } from './crypto.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** The Node entry point: real SQLite, real clock, real fetch, a listening socket. */
export async function startServer(
  config: Config,
  options: { host?: string; port?: number; logger?: Logger; clock?: Clock; cwd?: string } = {},
): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? jsonLogger(stdoutLine);
  const { store, keys } = await openBroker(config, { clock, cwd: options.cwd });
  const app = createApp({
    config,
    store,
    keys,
    clock,
    logger,
    clientAddress: (c) => getConnInfo(c).remote.address ?? null,
    crypto: nodeCrypto(),
  });

  const prune = async () => {
    try {
      const counts = await store.prune(nowSeconds(clock), config.audit.retentionSeconds);
      logger.info('pruned expired rows', { ...counts });
    } catch (e) {
      logger.error('prune failed', { error: e });
    }
  };
  await prune();
  const timer = setInterval(prune, PRUNE_EVERY_MS);
  timer.unref();

  const host = options.host ?? config.listen.host;
  const server: ServerType = await new Promise((resolveServer, reject) => {
    const s = serve(
      { fetch: app.fetch, hostname: host, port: options.port ?? config.listen.port },
      () => resolveServer(s),
    );
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info('tokenbroker listening', { url, issuer: config.issuer });

  return {
    url,
    async close() {
      clearInterval(timer);
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    },
  };
}
