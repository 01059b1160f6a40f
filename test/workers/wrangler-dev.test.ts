import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { EXCHANGE, form, hubSecretSha256, tempDir, testConfigObject } from '../helpers/broker.js';
import { CI_POLICIES } from '../helpers/ci.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';

// What an operator does on a laptop (README, "Deploying on Cloudflare
// Workers"): apply migrations/ to a local D1 with the wrangler CLI, then
// `wrangler dev` from the repository's own wrangler.toml, the config and the
// signing key given as the Worker's secrets in an env file outside the
// repository. One test, since each wrangler process takes seconds to start.

const REPO = resolve(import.meta.dirname, '../..');
const WRANGLER = join(REPO, 'node_modules/wrangler/bin/wrangler.js');

let issuer: TestIssuer | undefined;
let dev: ChildProcess | undefined;
let cleanup: () => void = () => {};
afterEach(async () => {
  if (dev) await stop(dev);
  await issuer?.close();
  cleanup();
  dev = issuer = undefined;
});

describe('wrangler dev from the repository', () => {
  it('serves a CI exchange end to end on a local D1 migrated by `wrangler d1 migrations apply --local`', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const env = wranglerEnv(t.dir);

    const migrate = await run(
      ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', t.dir],
      env,
    );
    expect(migrate.code, migrate.output).toBe(0);
    expect(migrate.output).toContain('0001_initial.sql');

    issuer = await startTestIssuer();
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const signingKey = { ...(await exportJWK(privateKey)), kid: 'dev-1', alg: 'ES256' };
    const config = testConfigObject({
      ci: {
        providers: [
          {
            name: 'github',
            issuer: issuer.url,
            kind: 'github',
            audiences: ['https://broker.test'],
          },
        ],
        policies: CI_POLICIES.filter((p) => p.provider === 'github'),
      },
    });
    // As `.dev.vars` would hold them, but in the temp dir: JSON on one line,
    // quoted, and `\${` escaped, since wrangler expands ${NAME} in env files
    // itself (dotenv-expand) and the broker must see its own placeholders.
    const envFile = join(t.dir, 'dev.vars');
    writeFileSync(
      envFile,
      [
        `TOKENBROKER_CONFIG='${JSON.stringify(config).replaceAll('${', '\\${')}'`,
        `SIGNING_KEY='${JSON.stringify(signingKey)}'`,
        `HUB_SECRET_SHA256=${await hubSecretSha256()}`,
      ].join('\n'),
    );

    const port = await freePort();
    dev = spawn(
      process.execPath,
      [
        WRANGLER,
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--persist-to',
        t.dir,
        '--env-file',
        envFile,
        '--show-interactive-dev-session=false',
      ],
      // Its own process group: wrangler starts workerd and helpers that must go with it.
      { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output = await ready(dev, `http://127.0.0.1:${port}`);
    // Secrets are listed by name only.
    expect(output).not.toContain(signingKey.d);

    const url = `http://127.0.0.1:${port}`;
    const res = await fetch(
      `${url}/token`,
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token_type: EXCHANGE.idToken,
        subject_token: await issuer.github(),
        scope: 'write:models/acme/bert',
      }),
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const { access_token } = await res.json();
    const jwks = await (await fetch(`${url}/jwks`)).json();
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toContain('dev-1');
    const { payload } = await jwtVerify(access_token, createLocalJWKSet(jwks), {
      issuer: 'https://broker.test',
      audience: 'https://hub.test',
    });
    expect(payload).toMatchObject({
      sub: 'ci:github:repo:acme/models:environment:production',
      scope: 'write:models/acme/bert',
    });
  }, 120_000);
});

/**
 * wrangler's environment for a test: no telemetry, no update check (the
 * banner's), no cf.json download, its logs and settings kept in `dir`.
 */
function wranglerEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CI: 'true',
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_LOG_PATH: join(dir, 'logs'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  };
}

async function run(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

/** A port nobody listens on now; wrangler dev binds it a moment later. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Resolves with wrangler's output once it says it is ready on `url`; rejects,
 * with that output, if it exits first or is not ready within `withinMs`.
 */
function ready(child: ChildProcess, url: string, withinMs = 90_000): Promise<string> {
  return new Promise((resolveReady, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`wrangler dev was not ready within ${withinMs} ms:\n${output}`)),
      withinMs,
    );
    const onData = (d: Buffer) => {
      output += d;
      if (!output.includes(`Ready on ${url}`)) return;
      clearTimeout(timer);
      resolveReady(output);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`wrangler dev exited (${code}) before it was ready:\n${output}`));
    });
  });
}

/** Ends wrangler dev and everything it started (its process group); SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(-child.pid!, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
