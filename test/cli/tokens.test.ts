import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { openExistingStore } from '../../src/node/open.js';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { mintAsServer } from '../helpers/server-db.js';

// `tokenbroker tokens list` reads the database a running broker writes: the
// tests mint through the server's own path, then run the command from another
// folder with --config, as an operator on call would.

let dir: string;
let elsewhere: string;
let cleanup: () => void;
const env = { HUB_SECRET_SHA256: 'b'.repeat(64) };
const configObject = () => testConfigObject({ database: './tb.db' });
const config = () => parseConfig(stringify(configObject()), { env });

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  writeFileSync(join(dir, 'tokenbroker.yaml'), stringify(configObject()));
  elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere);
});
afterEach(() => cleanup());

const list = (...args: string[]) =>
  runCli(['tokens', 'list', '--config', join(dir, 'tokenbroker.yaml'), ...args], {
    cwd: elsewhere,
    env,
  });

describe('tokenbroker tokens list', () => {
  it('lists the live tokens, newest first, with holder, source, scopes and expiry', async () => {
    const web = await mintAsServer(config(), 'user:alice@example.com', { cwd: dir });
    const ci = await mintAsServer(config(), 'ci:github:repo:acme/models:ref:refs/heads/main', {
      cwd: dir,
      source: 'ci',
      scopes: ['write:models/acme/bert', 'read:datasets/acme/**'],
      ttlSeconds: 1800,
    });
    const r = await list();
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (29|30)m\) {2}ci {8}ci:github:repo:acme\/models:ref:refs\/heads\/main {2}scope="write:models\/acme\/bert read:datasets\/acme\/\*\*" {2}jti=/,
    );
    expect(lines[0]).toContain(`jti=${ci.jti}`);
    expect(lines[1]).toContain(`user:alice@example.com  scope="read:models/a/b"  jti=${web.jti}`);
    // The tokens themselves are never printed.
    expect(r.stdout).not.toContain(web.token);
  });

  it('narrows by subject and by source, and prints JSON lines with --json', async () => {
    await mintAsServer(config(), 'user:alice@example.com', { cwd: dir });
    const bob = await mintAsServer(config(), 'user:bob@example.com', {
      cwd: dir,
      source: 'device',
    });
    const bySubject = await list('--subject', 'user:bob@example.com', '--json');
    expect(
      bySubject.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      {
        jti: bob.jti,
        subject: 'user:bob@example.com',
        source: 'device',
        scopes: ['read:models/a/b'],
        client_id: 't',
        issued_at: expect.any(Number),
        expires_at: expect.any(Number),
        parent_jti: null,
      },
    ]);
    const bySource = await list('--source', 'web');
    expect(bySource.stdout).toContain('user:alice@example.com');
    expect(bySource.stdout).not.toContain('user:bob@example.com');
  });

  it('leaves out revoked tokens and says so when none is live', async () => {
    const minted = await mintAsServer(config(), 'user:alice@example.com', { cwd: dir });
    const revoked = await runCli(
      ['revoke', '--jti', minted.jti, '--config', join(dir, 'tokenbroker.yaml')],
      { cwd: elsewhere, env },
    );
    expect(revoked.code, revoked.stderr).toBe(0);
    const r = await list();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('no live tokens match\n');
  });

  it('refuses an unknown source with the choices', async () => {
    const r = await list('--source', 'saml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ci, exchange, web, device/);
  });

  it('escapes what a caller put in a subject, one line per token', async () => {
    await mintAsServer(config(), 'ci:github:repo:x\u001b[2J\nfake line', {
      cwd: dir,
      source: 'ci',
    });
    const r = await list();
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).toContain('\\x1b[2J\\nfake line');
  });

  it('never creates a database for a config whose database does not exist', async () => {
    const r = await runCli(['tokens', 'list', '--config', join(dir, 'tokenbroker.yaml')], {
      cwd: elsewhere,
      env,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tb\.db/);
    expect(() => openExistingStore(config(), { cwd: dir })).toThrow();
  });
});
