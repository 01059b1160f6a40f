import { existsSync } from 'node:fs';
import { relative, isAbsolute } from 'node:path';
import { loadConfigFile, resolveConfigPath } from '../node/config-file.js';
import { startServer, type RunningServer } from '../node/server.js';
import { checkSamlMetadataFile } from '../node/saml-metadata.js';
import { shutdownGraceMs } from '../node/timeouts.js';
import { demoBanner } from '../demo/banner.js';
import { DEMO_HOST, DEMO_PORT, demoRefusal, startDemo } from '../demo/start.js';
import { CliError, type CliIO } from './io.js';
import { summarizeConfig } from './summary.js';

interface ServeOptions {
  config?: string;
  host?: string;
  port?: number;
}

/** `serve`: the config given or ./tokenbroker.yaml; with neither, the demo (SPEC section 8). */
export async function serveCommand(opts: ServeOptions, io: CliIO): Promise<void> {
  const path = resolveConfigPath(opts.config, io.cwd, false);
  if (!opts.config && !existsSync(path)) return serveDemo(opts, io);
  const { config, trust } = loadConfigFile(path, io.env);
  await checkSamlMetadataFile(config, path);
  const host = opts.host ?? config.listen.host;
  const port = opts.port ?? config.listen.port;
  const server = await listening(() => startServer(config, { host, port, cwd: io.cwd, trust }), {
    host,
    port,
    demo: false,
  });
  // The issuer only when it differs: behind a proxy it is the public URL.
  const issuer = config.issuer === server.url ? '' : ` for issuer ${config.issuer}`;
  io.stderr(`tokenbroker: serving on ${server.url}${issuer} (config ${path})\n`);
  await untilSignal(server, config.limits.requestTimeoutSeconds, io);
}

async function serveDemo(opts: ServeOptions, io: CliIO): Promise<void> {
  const host = opts.host ?? DEMO_HOST;
  const port = opts.port ?? DEMO_PORT;
  const refusal = demoRefusal(host, io.env);
  if (refusal) throw new CliError(refusal);
  const demo = await listening(() => startDemo({ host, port, cwd: io.cwd }), {
    host,
    port,
    demo: true,
  });
  io.stderr(
    demoBanner({
      url: demo.server.url,
      database: demo.database,
      cli: cliInvocation(process.argv[1], io.cwd),
    }),
  );
  await untilSignal(demo.server, demo.config.limits.requestTimeoutSeconds, io);
}

/** Runs `start`, turning the listener's errors into what to do about them. */
async function listening<T>(
  start: () => Promise<T>,
  at: { host: string; port: number; demo: boolean },
): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const setting = at.demo ? '' : ' (or listen.port in the config)';
    if (code === 'EADDRINUSE') {
      throw new CliError(
        `port ${at.port} on ${at.host} is already in use (another tokenbroker, or another program): stop it, or pass --port with a free port${setting}`,
      );
    }
    if (code === 'EACCES') {
      throw new CliError(
        `not allowed to listen on port ${at.port} on ${at.host} (ports below 1024 need privileges): pass --port with a port from 1024 up${setting}`,
      );
    }
    if (code === 'EADDRNOTAVAIL') {
      throw new CliError(
        `${at.host} is not an address of this machine: pass --host with one of its addresses${at.demo ? '' : ' (or set listen.host)'}`,
      );
    }
    throw e;
  }
}

/** Serves until SIGINT or SIGTERM, then shuts down within the grace. */
function untilSignal(server: RunningServer, requestTimeoutSeconds: number, io: CliIO) {
  return new Promise<void>((resolve, reject) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      const grace = shutdownGraceMs(requestTimeoutSeconds) / 1000;
      // A second signal gets Node's default (exit at once) for an operator who will not wait.
      io.stderr(`tokenbroker: shutting down (requests in flight get up to ${grace}s)\n`);
      // A failed close reaches the CLI's error handler, not an unhandled rejection.
      server.close().then(resolve, reject);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * How a person in `cwd` runs this CLI again: `node bin/tokenbroker.js` from
 * a clone (`npm start`), where `tokenbroker` is on no PATH, else `tokenbroker`.
 */
export function cliInvocation(script: string | undefined, cwd: string): string {
  if (!script) return 'tokenbroker';
  const rel = relative(cwd, script);
  if (rel.startsWith('..') || isAbsolute(rel) || !/^[\w./-]+$/.test(rel)) return 'tokenbroker';
  if (rel.startsWith('node_modules/')) return 'npx tokenbroker';
  return `node ${rel}`;
}

export async function configCheckCommand(opts: { config?: string }, io: CliIO): Promise<void> {
  const path = resolveConfigPath(opts.config, io.cwd, false);
  const { config, trust } = loadConfigFile(path, io.env);
  await checkSamlMetadataFile(config, path);
  io.stdout(summarizeConfig(config, trust, path));
}
