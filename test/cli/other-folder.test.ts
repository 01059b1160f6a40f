import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { mintAsServer } from '../helpers/server-db.js';

// During an incident the operator runs commands from wherever their shell is,
// naming the config: they must act on that config's database (relative to
// the config file) and never create a database or a key in the working folder.

let dir: string;
let shell: string;
let cleanup: () => void;
const env = { HUB_SECRET_SHA256: 'b'.repeat(64) };
const configObject = () => testConfigObject({ database: './data/tb.db' });

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'tokenbroker.yaml'), stringify(configObject()));
  shell = join(dir, 'somewhere-else');
  mkdirSync(shell);
});
afterEach(() => cleanup());

const cli = (...args: string[]) =>
  runCli([...args, '--config', join(dir, 'etc', 'tokenbroker.yaml')], { cwd: shell, env });

describe('operator commands run from another folder', () => {
  it("revoke --subject, keys list, audit and tokens list act on the config's database", async () => {
    const config = parseConfig(stringify(configObject()), { env });
    await mintAsServer(config, 'user:alice@example.com', { cwd: join(dir, 'etc') });
    expect(existsSync(join(dir, 'etc', 'data', 'tb.db'))).toBe(true);

    const revoked = await cli('revoke', '--subject', 'user:alice@example.com');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/revoked 1 token/);
    expect((await cli('keys', 'list')).stdout.trim().split('\n')).toHaveLength(1);
    expect((await cli('audit', '--subject', 'user:alice@example.com')).stdout).toMatch(
      /token\.revoked|subject\.revoked/,
    );
    expect((await cli('tokens', 'list')).stderr).toBe('no live tokens match\n');
    expect(readdirSync(shell)).toEqual([]);
  });
});
