import { loadConfigFile, resolveConfigPath } from '../node/config-file.js';
import { startServer } from '../node/server.js';
import { checkSamlMetadataFile } from '../node/saml-metadata.js';
import { shutdownGraceMs } from '../node/timeouts.js';
import type { CliIO } from './io.js';
import { summarizeConfig } from './summary.js';

export async function serveCommand(
  opts: { config?: string; host?: string; port?: number },
  io: CliIO,
): Promise<void> {
  const path = resolveConfigPath(opts.config, io.cwd, true);
  const { config, trust } = loadConfigFile(path, io.env);
  await checkSamlMetadataFile(config, path);
  const server = await startServer(config, {
    host: opts.host,
    port: opts.port,
    cwd: io.cwd,
    trust,
  });
  io.stderr(`tokenbroker: serving ${config.issuer} on ${server.url} (config ${path})\n`);
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      const grace = shutdownGraceMs(config.limits.requestTimeoutSeconds) / 1000;
      // A second signal gets Node's default (exit at once) for an operator who will not wait.
      io.stderr(`tokenbroker: shutting down (requests in flight get up to ${grace}s)\n`);
      // A failed close reaches the CLI's error handler, not an unhandled rejection.
      server.close().then(resolve, reject);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export async function configCheckCommand(opts: { config?: string }, io: CliIO): Promise<void> {
  const path = resolveConfigPath(opts.config, io.cwd, false);
  const { config, trust } = loadConfigFile(path, io.env);
  await checkSamlMetadataFile(config, path);
  io.stdout(summarizeConfig(config, trust, path));
}
