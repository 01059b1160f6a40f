import { mintAsServer } from '../helpers/server-db.js';
import { statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../src/node/config-file.js';
import { testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { cannotMount, smallFilesystem } from '../node/sqlite/tmpfs.js';

// An operator revokes during an incident, and the broker's disk is full: the
// command must say what is wrong with the database and what to do, not report
// an "unexpected error" or send them to a /readyz they are not looking at.

const whyNot = cannotMount();
const env = { HUB_SECRET_SHA256: 'b'.repeat(64) };
let fs: ReturnType<typeof smallFilesystem> | undefined;
afterEach(() => {
  fs?.unmount();
  fs = undefined;
});

describe.skipIf(whyNot !== undefined)(`tokenbroker revoke on a full disk ${whyNot ?? ''}`, () => {
  it('exits 1 naming the full disk and the database, not an unexpected error', async () => {
    fs = smallFilesystem('2m');
    const configPath = join(fs.dir, 'tokenbroker.yaml');
    writeFileSync(configPath, stringify(testConfigObject({ database: './tb.db' })));
    await mintAsServer(loadConfigFile(configPath, env).config, 'user:alice@example.com', {
      audit: { reason: 'x'.repeat(2000) },
    });
    // Room to open the database (its -shm and -wal), not to commit a revocation with its audit row.
    const filler = fs.fill();
    truncateSync(filler, statSync(filler).size - 48 * 1024);

    const res = await runCli(
      ['revoke', '--subject', 'user:alice@example.com', '--config', configPath],
      { cwd: fs.dir, env },
    );
    expect(res.code).toBe(1);
    expect(res.stderr).not.toContain('unexpected error');
    expect(res.stderr).not.toContain('/readyz');
    expect(res.stderr).toContain(join(fs.dir, 'tb.db'));
    expect(res.stderr).toMatch(/disk full.*free space/);
  });
});
