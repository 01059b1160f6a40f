import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SHUTDOWN_GRACE_CAP_MS } from '../../src/node/timeouts.js';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { rawClient, type RawClient } from '../helpers/raw-http.js';

let cleanup: () => void = () => {};
let slow: RawClient | undefined;
afterEach(() => {
  slow?.socket.destroy();
  cleanup();
});

describe('tokenbroker serve (the bundle, npm run build first)', () => {
  it('finishes on SIGTERM within the shutdown grace while a slow client is still sending', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    writeFileSync(
      join(t.dir, 'serve.yaml'),
      stringify({
        ...testConfigObject(),
        listen: { host: '127.0.0.1', port: 0 },
        database: join(t.dir, 'serve.db'),
        // The default 30s: the shutdown must not wait for the request timeout.
        limits: { request_timeout: '30s' },
      }),
    );
    const child = spawn(
      process.execPath,
      [resolve('bin/tokenbroker.js'), 'serve', '--config', 'serve.yaml'],
      { cwd: t.dir, env: { ...process.env, HUB_SECRET_SHA256: 'b'.repeat(64) } },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let url: string;
    try {
      for (let i = 0; !stderr.includes('serving'); i++) {
        if (i > 100 || child.exitCode !== null)
          throw new Error(`the server did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1]!;
      slow = await rawClient(url);
      void slow.dribble(`POST /revoke HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(1000)}`, 100);
      await new Promise((r) => setTimeout(r, 300));
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    const started = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_GRACE_CAP_MS + 2_000);
    await slow.closed;
    expect(stderr).toContain('tokenbroker: shutting down');
  }, 20_000);
});
