import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { SqliteStore } from '../../src/node/sqlite/store.js';
import { AUDIT_PAGE } from '../../src/cli/admin.js';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { mintAsServer } from '../helpers/server-db.js';

// `tokenbroker audit --json` is the export: every row, in order, however many,
// read a page at a time rather than all at once (or cut at some limit).

let dir: string;
let cleanup: () => void;
const env = { HUB_SECRET_SHA256: 'b'.repeat(64) };
const configObject = () => testConfigObject({ database: './tb.db' });

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  writeFileSync(join(dir, 'tokenbroker.yaml'), stringify(configObject()));
});
afterEach(() => cleanup());

describe('tokenbroker audit --json', () => {
  it('exports every row in order, across pages, each once', async () => {
    await mintAsServer(parseConfig(stringify(configObject()), { env }), 'user:alice@example.com', {
      cwd: dir,
    });
    const store = new SqliteStore(join(dir, 'tb.db'));
    // More than the 10,000 a single query returns by default, over several pages.
    const extra = Math.max(10_000, AUDIT_PAGE * 2) + 17;
    await Promise.all(
      Array.from({ length: extra }, (_, i) =>
        store.appendAudit({ time: 1000 + i, event: 'test.row', outcome: 'success', detail: { i } }),
      ),
    );
    await store.close();

    const r = await runCli(['audit', '--json'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; event: string; detail: { i?: number } });
    expect(rows).toHaveLength(extra + 1); // and the mint's own token.issued row
    const ids = rows.map((row) => row.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(rows.filter((row) => row.event === 'test.row').map((row) => row.detail.i)).toEqual(
      Array.from({ length: extra }, (_, i) => i),
    );
  });
});
