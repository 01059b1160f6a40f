import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { databasePath } from '../node/open.js';
import { startServer, type RunningServer } from '../node/server.js';
import { isLoopbackHost } from '../shared/url.js';
import type { Config } from '../config/compile.js';
import { DemoCiIssuer } from './ci-issuer.js';
import { demoConfig } from './config.js';
import { DEMO_LABEL, demoRoutes } from './routes.js';
import { DemoIdp } from './saml-idp.js';

export const DEMO_HOST = '127.0.0.1';
export const DEMO_PORT = 8787;

const REAL_BROKER =
  'to run a real broker, write ./tokenbroker.yaml (start from examples/tokenbroker.yaml) or pass --config F';

/**
 * Why the demo must not start here, or undefined. Its IdP logs anyone in as
 * anyone and its CI issuer signs whatever claims it is sent: reachable from
 * another machine, or mistaken for production, it would hand out tokens.
 */
export function demoRefusal(
  host: string,
  env: Record<string, string | undefined>,
): string | undefined {
  if (env.NODE_ENV === 'production') {
    return `no config, and NODE_ENV=production: the demo (a test IdP that logs anyone in) does not run in production: ${REAL_BROKER}`;
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!isLoopbackHost(bare === '::1' ? '[::1]' : bare)) {
    return `the demo listens on loopback only (127.0.0.1, ::1 or localhost), not on ${host}: its test IdP logs anyone in, so no other machine may reach it; drop --host, or ${REAL_BROKER}`;
  }
  return undefined;
}

export interface RunningDemo {
  server: RunningServer;
  config: Config;
  /** Where the demo's database is, as the banner names it. */
  database: string;
}

/**
 * Starts the broker with the demo config plus the test IdP and CI issuer
 * under /demo/ on the same port. The caller has checked demoRefusal. Port 0
 * picks a free port first: the config (its issuer, the IdP's ACS) needs the
 * URL before the app is built.
 */
export async function startDemo(o: {
  host: string;
  port: number;
  cwd: string;
}): Promise<RunningDemo> {
  const port = o.port === 0 ? await freePort(o.host) : o.port;
  const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  const idp = new DemoIdp(`${url}/demo/saml/metadata`, {
    acsUrl: `${url}/saml/acs`,
    entityId: `${url}/saml/metadata`,
  });
  const ci = await DemoCiIssuer.create(`${url}/demo`, url);
  const { config, trust } = demoConfig({
    url,
    host: o.host,
    port,
    idpCertPem: idp.keys.certPem,
  });
  const server = await startServer(config, {
    host: o.host,
    port,
    cwd: o.cwd,
    trust,
    routes: demoRoutes({ url, idp, ci }),
    pageLabel: DEMO_LABEL,
  });
  return { server, config, database: databasePath(config, o.cwd) };
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
