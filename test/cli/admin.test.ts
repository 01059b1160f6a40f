import { openBroker } from '../../src/node/open.js';
import { mintAsServer } from '../helpers/server-db.js';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let cleanup: () => void;
const env = { HUB_SECRET_SHA256: 'b'.repeat(64) };

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  writeFileSync(
    join(dir, 'tokenbroker.yaml'),
    stringify(testConfigObject({ database: './tb.db' })),
  );
});
afterEach(() => cleanup());

const mintInDb = (subject: string) =>
  mintAsServer(
    parseConfig(stringify(testConfigObject({ database: './tb.db' })), { env }),
    subject,
    {
      cwd: dir,
    },
  );

describe('tokenbroker config check', () => {
  it('prints a summary of a valid config', async () => {
    const r = await runCli(['config', 'check'], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`config ${join(dir, 'tokenbroker.yaml')} is valid`);
    expect(r.stdout).toContain('issuer     https://broker.test');
    expect(r.stdout).toContain('introspection clients: hub');
    expect(r.stdout).toContain(
      'limits     request timeout 30s, claims over 1024 characters never match',
    );
  });

  it('prints every error with its path and exits 1', async () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      stringify({ issuer: 'nope', tokens: { audience: 'x', max_ttl: 'forever' } }),
    );
    const r = await runCli(['config', 'check', '--config', 'bad.yaml'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('2 problems');
    expect(r.stderr).toContain('  issuer: expected an http(s) URL');
    expect(r.stderr).toContain(
      '  tokens.max_ttl: expected a duration such as 90s, 15m, 8h or 1d, got "forever"',
    );
  });

  it('summarizes the example config shipped with the package', async () => {
    const r = await runCli(['config', 'check', '--config', resolve('examples/tokenbroker.yaml')], {
      cwd: dir,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('acme-models-release (provider github, max ttl 30m)');
  });

  it('exits 2 on a usage error', async () => {
    expect((await runCli(['frobnicate'], { cwd: dir })).code).toBe(2);
    expect((await runCli(['keys', 'shuffle'], { cwd: dir, env })).code).toBe(2);
    expect((await runCli(['revoke'], { cwd: dir, env })).code).toBe(2);
  });
});

describe('tokenbroker keys', () => {
  it('lists, rotates and prunes', async () => {
    await mintInDb('user:a@example.com');
    let r = await runCli(['keys', 'list'], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/ES256 +created \S+ +current/);

    r = await runCli(['keys', 'rotate'], { cwd: dir, env });
    expect(r.stdout).toMatch(/^new signing key \S+ \(ES256\)/);
    r = await runCli(['keys', 'list'], { cwd: dir, env });
    expect(r.stdout).toMatch(/retired \S+, in \/jwks until /);

    r = await runCli(['keys', 'prune'], { cwd: dir, env });
    expect(r.stdout).toBe('nothing to prune: every retired key still verifies a live token\n');
  });
});

describe('tokenbroker revoke and audit', () => {
  it('revokes by jti and by subject, and the audit log shows it', async () => {
    const a = await mintInDb('user:a@example.com');
    await mintInDb('user:b@example.com');
    await mintInDb('user:b@example.com');

    let r = await runCli(['revoke', '--jti', a.jti], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`revoked 1 token: ${a.jti}`);
    r = await runCli(['revoke', '--jti', a.jti], { cwd: dir, env });
    expect(r.stdout).toBe(`token ${a.jti} was already revoked\n`);
    r = await runCli(['revoke', '--jti', 'nope'], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no token with jti nope');

    r = await runCli(['revoke', '--subject', 'user:b@example.com'], { cwd: dir, env });
    expect(r.stdout).toMatch(/^revoked 2 tokens: /);

    r = await runCli(['audit', '--json', '--subject', 'user:b@example.com'], { cwd: dir, env });
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['token.issued', 'token.issued', 'token.revoked']);
    expect(JSON.stringify(events)).not.toMatch(/eyJ/);

    r = await runCli(['audit', '--since', '1h', '--outcome', 'success'], { cwd: dir, env });
    expect(r.stdout.trim().split('\n')).toHaveLength(5);
    expect(r.stdout).toContain('token.revoked');
    r = await runCli(['audit', '--outcome', 'denied'], { cwd: dir, env });
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('no audit events match\n');
    r = await runCli(['audit', '--since', 'yesterday'], { cwd: dir, env });
    expect(r.code).toBe(2);
  });
});

describe('tokenbroker audit output', () => {
  it('shows control characters from a caller escaped, so they cannot drive the terminal', async () => {
    const config = parseConfig(stringify(testConfigObject({ database: './tb.db' })), { env });
    const { store } = await openBroker(config, { cwd: dir });
    await store.appendAudit({
      time: Math.floor(Date.now() / 1000),
      event: 'token.denied',
      outcome: 'denied',
      subject: 'ci:github:repo:x\u001b]0;pwned\u0007\u001b[2J',
      reason: 'no trust policy matched',
    });
    await store.close();
    const r = await runCli(['audit'], { cwd: dir, env });
    expect(r.stdout).toContain('ci:github:repo:x\\x1b]0;pwned\\x07\\x1b[2J');
    expect(r.stdout).not.toContain('\u001b');
  });
});

describe('the built executable', () => {
  it('runs config check from the bundle', () => {
    const out = execFileSync(
      process.execPath,
      [
        resolve('bin/tokenbroker.js'),
        'config',
        'check',
        '--config',
        resolve('examples/tokenbroker.yaml'),
      ],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    expect(out).toContain('is valid');
  });

  it('exits 1 with the error paths on a broken config, without a stack trace', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'issuer: 5\n');
    const r = spawnSync(
      process.execPath,
      [resolve('bin/tokenbroker.js'), 'config', 'check', '--config', 'bad.yaml'],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('issuer: expected a string, got the number 5: quote it');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('serves from the bundle, logs each request as a JSON line, and writes them all before exiting on SIGTERM', async () => {
    writeFileSync(
      join(dir, 'serve.yaml'),
      stringify({
        ...testConfigObject(),
        listen: { host: '127.0.0.1', port: 0 },
        database: join(dir, 'serve.db'),
      }),
    );
    const child = spawn(
      process.execPath,
      [resolve('bin/tokenbroker.js'), 'serve', '--config', 'serve.yaml'],
      { cwd: dir, env: { ...process.env, ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      for (let i = 0; !stderr.includes('serving'); i++) {
        if (i > 100 || child.exitCode !== null)
          throw new Error(`the server did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1]!;
      for (let i = 0; i < 20; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const refused = await fetch(`${url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=password',
      });
      expect(refused.status).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const requests = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'request');
    expect(requests.filter((l) => l.path === '/healthz')).toHaveLength(20);
    expect(requests.find((l) => l.path === '/token')).toMatchObject({
      method: 'POST',
      status: 400,
    });
    expect(stderr).toContain('tokenbroker: shutting down');
  }, 20_000);
});
