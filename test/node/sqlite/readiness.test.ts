import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import { EXCHANGE, form, mintFor, startBroker, type TestBroker } from '../../helpers/broker.js';
import { auditRow, storeFiles } from '../../helpers/store.js';
import { cannotMount, removeFile, smallFilesystem } from './tmpfs.js';

// The database on a real 2 MiB tmpfs, filled by a real file: /readyz must
// report what exchanges run into, and recover once the space is back.

const whyNot = cannotMount();
const mounts: Array<ReturnType<typeof smallFilesystem>> = [];
let broker: TestBroker | undefined;

afterEach(async () => {
  await broker?.cleanup();
  broker = undefined;
});
afterAll(() => {
  for (const m of mounts) m.unmount();
});

async function brokerOnSmallDisk() {
  const fs = smallFilesystem('2m');
  mounts.push(fs);
  broker = await startBroker({ dir: fs.dir });
  return { fs, broker };
}

async function readyz(b: TestBroker): Promise<{ status: number; problems: string[] }> {
  const res = await b.app.request('/readyz');
  const body = (await res.json()) as { problems?: string[] };
  return { status: res.status, problems: body.problems ?? [] };
}

describe.skipIf(whyNot !== undefined)(`readiness on a full disk ${whyNot ?? ''}`, () => {
  it('is not ready while the disk is full and issuing fails, and ready again once space is back', async () => {
    const { fs, broker: b } = await brokerOnSmallDisk();
    expect(await readyz(b)).toEqual({ status: 200, problems: [] });
    const parent = await mintFor(b, ['read:models/acme/m']);

    const filler = fs.fill();
    await expect(mintFor(b, ['read:models/acme/m'])).rejects.toMatchObject({
      code: 'unavailable',
      cause: { code: 'SQLITE_FULL' },
    });
    // The client is told to retry, not handed an internal error.
    const narrowing = await b.app.request(
      '/token',
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token: parent.token,
        subject_token_type: EXCHANGE.access,
      }),
    );
    expect(narrowing.status).toBe(503);
    expect(narrowing.headers.get('retry-after')).toBe('60');
    expect(await narrowing.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description:
        'the broker cannot write to its database right now, so it issues and revokes nothing: retry in a minute (operators: /readyz says why)',
    });
    const full = await readyz(b);
    expect(full.status).toBe(503);
    // The free space, and what the failed issue ran into, always; the probe's own
    // write fails too unless the WAL still has room for one page (see the next test).
    expect(full.problems[0]).toBe(
      `database disk is full: 0 KiB free on the filesystem of ${b.dbPath}, under the 1024 KiB the broker needs to go on committing exchanges; free space there`,
    );
    expect(full.problems.at(-1)).toMatch(
      /^the last write failed \d+s ago: database or disk is full$/,
    );
    if (full.problems.length === 3) {
      expect(full.problems[1]).toBe(
        `database cannot be written: disk full at ${b.dbPath}; free space on its filesystem`,
      );
    }

    removeFile(filler);
    expect(await readyz(b)).toEqual({ status: 200, problems: [] });
    expect((await mintFor(b, ['read:models/acme/m'])).token).toBeTypeOf('string');
  });

  it('is not ready on a full disk even when a reused WAL still takes the probe write', async () => {
    const { fs, broker: b } = await brokerOnSmallDisk();
    for (let i = 0; i < 3; i++) await mintFor(b, ['read:models/acme/m']); // a WAL of some size
    const other = new Database(b.dbPath);
    other.pragma('wal_checkpoint(RESTART)'); // the next commit rewrites the WAL from its start
    other.close();
    const filler = fs.fill();

    // The probe alone passes: only the free space tells.
    await b.store.appendAudit({ time: 1, event: 'probe', outcome: 'success' });
    const full = await readyz(b);
    expect(full.status).toBe(503);
    expect(full.problems).toHaveLength(1);
    expect(full.problems[0]).toMatch(
      /^database disk is full: 0 KiB free on the filesystem of .+, under the 1024 KiB the broker needs/,
    );

    removeFile(filler);
    expect(await readyz(b)).toEqual({ status: 200, problems: [] });
  });

  it('names the file when its own probe write fails, with no free-space floor to tell first', async () => {
    const fs = smallFilesystem('2m');
    mounts.push(fs);
    const path = join(fs.dir, 'tb.db');
    const store = new SqliteStore(path, { minFreeBytes: 0 });
    try {
      await store.appendAudit(auditRow('before'));
      const other = new Database(path);
      other.pragma('wal_checkpoint(TRUNCATE)'); // an empty WAL: any commit must grow it
      other.close();
      const filler = fs.fill();
      expect(await store.readiness()).toEqual([
        `database cannot be written: disk full at ${path}; free space on its filesystem`,
      ]);
      removeFile(filler);
      expect(await store.readiness()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('readiness checks', () => {
  const files = storeFiles();

  it('are shared by callers that arrive together, so a flood of /readyz costs one write at a time', async () => {
    const { store } = files.open();
    const first = store.readiness();
    expect(store.readiness()).toBe(first);
    expect(await first).toEqual([]);
    const next = store.readiness();
    expect(next).not.toBe(first);
    expect(await next).toEqual([]);
  });
});
