import { mintAsServer } from '../helpers/server-db.js';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { bundledConfigPath, loadConfigFile } from '../../src/node/config-file.js';
import { databasePath, openBroker } from '../../src/node/open.js';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';

// The broker's config lives in one folder (conf/) with `database:
// ./data/tb.db`; the operator runs commands from another (elsewhere/), as
// during an incident. Relative paths are relative to the config file.

let root: string;
let cleanup: () => void;
let conf: string;
let elsewhere: string;
let configPath: string;
let dbPath: string;
const env = { HUB_SECRET_SHA256: 'b'.repeat(64) };

beforeEach(() => {
  ({ dir: root, cleanup } = tempDir());
  conf = join(root, 'conf');
  elsewhere = join(root, 'elsewhere');
  mkdirSync(conf);
  mkdirSync(elsewhere);
  configPath = join(conf, 'tokenbroker.yaml');
  dbPath = join(conf, 'data', 'tb.db');
  writeFileSync(
    configPath,
    stringify({
      ...testConfigObject({ database: './data/tb.db' }),
      listen: { host: '127.0.0.1', port: 0 },
    }),
  );
});
afterEach(() => cleanup());

/** The broker's database, as the server leaves it, with one live token of `subject`. */
async function serverDatabaseWithToken(subject: string): Promise<void> {
  await mintAsServer(loadConfigFile(configPath, env).config, subject, { cwd: conf });
}

/** Runs the built CLI's `serve` until it listens, then stops it; returns its stderr. */
async function serveOnce(args: string[], cwd: string): Promise<string> {
  const child = spawn(process.execPath, [resolve('bin/tokenbroker.js'), 'serve', ...args], {
    cwd,
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    for (let i = 0; !stderr.includes('serving'); i++) {
      if (i > 200 || child.exitCode !== null) throw new Error(`serve did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  return stderr;
}

describe('relative paths in the config', () => {
  it('resolves `database` against the config file, not the working folder', () => {
    const { config } = loadConfigFile(configPath, env);
    expect(config.database).toBe(dbPath);
    expect(databasePath(config, elsewhere)).toBe(dbPath);
  });

  it('revokes in the broker database when run from another folder with --config', async () => {
    await serverDatabaseWithToken('user:alice@example.com');
    const r = await runCli(
      ['revoke', '--subject', 'user:alice@example.com', '--config', configPath],
      { cwd: elsewhere, env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^revoked 1 token: /);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('reads the keys and the audit log of the broker database from another folder', async () => {
    await serverDatabaseWithToken('user:alice@example.com');
    const keys = await runCli(['keys', 'list', '--config', configPath], { cwd: elsewhere, env });
    expect(keys.code).toBe(0);
    expect(keys.stdout.trim().split('\n')).toHaveLength(1);
    const audit = await runCli(['audit', '--config', configPath], { cwd: elsewhere, env });
    expect(audit.code).toBe(0);
    expect(audit.stdout).toContain('token.issued');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('serves the database next to the config, creating it on the first run', async () => {
    const stderr = await serveOnce(['--config', configPath], elsewhere);
    expect(stderr).toContain(`(config ${configPath})`);
    expect(existsSync(dbPath)).toBe(true);
    expect(readdirSync(elsewhere)).toEqual([]);
  }, 30_000);

  it('keeps the bundled example database relative, for the working folder', () => {
    const { config } = loadConfigFile(bundledConfigPath(), env);
    expect(config.database).toBe('./data/tokenbroker.db');
  });

  it("puts the demo's database under the working folder, as `npm start` does", async () => {
    await serveOnce(['--port', '0'], elsewhere);
    expect(readdirSync(elsewhere)).toEqual(['data']);
    expect(existsSync(join(elsewhere, 'data', 'demo.db'))).toBe(true);
  }, 30_000);

  it('keeps an in-memory database in memory', async () => {
    writeFileSync(configPath, stringify(testConfigObject({ database: ':memory:' })));
    const { config } = loadConfigFile(configPath, env);
    expect(config.database).toBe(':memory:');
    const { store, keys } = await openBroker(config, { cwd: elsewhere });
    expect(keys.ready).toBe(true);
    await store.close();
    const r = await runCli(['audit', '--config', configPath], { cwd: elsewhere, env });
    expect(r).toMatchObject({ code: 0, stderr: 'no audit events match\n' });
    expect(readdirSync(conf)).toEqual(['tokenbroker.yaml']);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('operator commands on a missing database', () => {
  it.each(
    [
      ['audit'],
      ['keys', 'list'],
      ['keys', 'rotate'],
      ['keys', 'prune'],
      ['revoke', '--subject', 'user:alice@example.com'],
      ['revoke', '--jti', 'abc'],
    ].map((args) => [args.join(' '), args] as const),
  )('%s refuses, creating no file and no signing key', async (_, args) => {
    const r = await runCli([...args, '--config', configPath], { cwd: elsewhere, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `tokenbroker: no database at ${dbPath}: is --config the broker's config?\n`,
    );
    expect(r.stdout).toBe('');
    expect(existsSync(dbPath)).toBe(false);
    expect(readdirSync(conf)).toEqual(['tokenbroker.yaml']);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('a database whose schema was changed by hand', () => {
  beforeEach(async () => {
    await serverDatabaseWithToken('user:alice@example.com');
    const db = new Database(dbPath);
    db.exec('DROP TRIGGER audit_events_no_update');
    db.close();
  });

  it('is refused by serve, which names the file and the repair', async () => {
    const r = await runCli(['serve', '--config', configPath], { cwd: elsewhere, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`tokenbroker: the database ${dbPath} differs from the schema`);
    expect(r.stderr).toContain('trigger audit_events_no_update is missing');
    expect(r.stderr).toContain(`sqlite3 '${dbPath}' "CREATE TRIGGER audit_events_no_update`);
    expect(r.stderr).not.toContain('unexpected error');
  });

  it('still lets the operator read the audit log and revoke, with a warning', async () => {
    const audit = await runCli(['audit', '--config', configPath], { cwd: elsewhere, env });
    expect(audit.code).toBe(0);
    expect(audit.stderr).toMatch(
      /^tokenbroker: WARNING: trigger audit_events_no_update is missing: it keeps the audit log append-only/,
    );
    expect(audit.stdout).toContain('token.issued');
    const revoke = await runCli(
      ['revoke', '--subject', 'user:alice@example.com', '--config', configPath],
      { cwd: elsewhere, env },
    );
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toMatch(/^revoked 1 token/);
  });
});

describe('start-up errors from the CLI', () => {
  it('names a database file that is not a database, without a stack trace', async () => {
    mkdirSync(join(conf, 'data'));
    writeFileSync(dbPath, 'this is not a database\n'.repeat(100));
    const r = await runCli(['serve', '--config', configPath], { cwd: elsewhere, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^tokenbroker: ${dbPath} is not a SQLite database .*: point \`database\``),
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
