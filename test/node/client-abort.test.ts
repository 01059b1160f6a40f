import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLogger } from '../../src/shared/log.js';
import { startServer, type RunningServer } from '../../src/node/server.js';
import {
  basic,
  form,
  HUB_SECRET,
  mintFor,
  startBroker,
  tempDir,
  testConfig,
  EXCHANGE,
} from '../helpers/broker.js';
import { rawClient } from '../helpers/raw-http.js';
import { startCi } from '../helpers/ci.js';

let server: RunningServer | undefined;
let cleanup: () => void = () => {};
afterEach(async () => {
  await server?.close();
  server = undefined;
  cleanup();
});

type Line = Record<string, unknown>;

async function start(): Promise<{ url: string; lines: Line[] }> {
  const t = tempDir();
  cleanup = t.cleanup;
  const lines: Line[] = [];
  server = await startServer(await testConfig({ database: join(t.dir, 'tb.db') }), {
    host: '127.0.0.1',
    port: 0,
    logger: jsonLogger((l) => lines.push(JSON.parse(l) as Line)),
  });
  return { url: server.url, lines };
}

async function requestLine(lines: Line[], path: string): Promise<Line> {
  for (let i = 0; i < 100; i++) {
    const line = lines.find((l) => l.msg === 'request' && l.path === path);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no access log line for ${path}: ${JSON.stringify(lines)}`);
}

describe('a client that hangs up mid-body', () => {
  it.each(['/token', '/revoke', '/introspect'])(
    'is logged at info level as a client abort (499) at %s, never as a server error',
    async (path) => {
      const { url, lines } = await start();
      const c = await rawClient(url);
      c.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Authorization: Basic aHViOmh1Yi1zZWNyZXQtZm9yLXRlc3Rz\r\nContent-Length: 100\r\n\r\ntoken=abc`,
      );
      await new Promise((r) => setTimeout(r, 50));
      c.socket.destroy();
      const line = await requestLine(lines, path);
      expect(line).toMatchObject({ level: 'info', method: 'POST', status: 499 });
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
      expect(JSON.stringify(lines)).not.toContain('unhandled error');
    },
  );

  it('still logs a request the client completed normally with its real status', async () => {
    const { url, lines } = await start();
    const res = await fetch(`${url}/revoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'token=abc',
    });
    expect(res.status).toBe(200);
    expect(await requestLine(lines, '/revoke')).toMatchObject({ level: 'info', status: 200 });
  });
});

describe('a real server error', () => {
  it('is still logged at error level and answered 500', async () => {
    const lines: Line[] = [];
    const broker = await startBroker({
      logger: jsonLogger((l) => lines.push(JSON.parse(l) as Line)),
    });
    const minted = await mintFor(broker, ['read:models/acme/*']);
    await broker.close(); // the database goes away under the running app
    try {
      const res = await broker.app.request('/introspect', {
        ...form({ token: minted.token }),
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: basic('hub', HUB_SECRET),
        },
      });
      expect(res.status).toBe(500);
      expect((await res.json()).error).toBe('server_error');
      expect(lines.find((l) => l.msg === 'unhandled error')).toMatchObject({ level: 'error' });
      expect(lines.find((l) => l.msg === 'request')).toMatchObject({ level: 'info', status: 500 });
    } finally {
      await broker.cleanup();
    }
  });
});

describe('a server failure while the client is gone', () => {
  it('is still logged at error level: a client giving up must not hide it', async () => {
    // The usual reason clients give up is that the broker is slow, which is
    // also when its own failures matter most.
    const lines: Line[] = [];
    const ci = await startCi({ logger: jsonLogger((l) => lines.push(JSON.parse(l) as Line)) });
    try {
      const token = await ci.github.github({ repository: 'acme/models' });
      await ci.github.close(); // its JWKS cannot be fetched: the exchange fails with a 503
      const gone = new AbortController();
      gone.abort();
      const res = await ci.broker.app.request(
        new Request('https://broker.test/token', {
          ...form({
            grant_type: EXCHANGE.grant_type,
            subject_token: token,
            subject_token_type: EXCHANGE.idToken,
          }),
          signal: gone.signal,
        }),
      );
      expect(res.status).toBeGreaterThanOrEqual(499);
      expect(lines.find((l) => l.msg === 'request failed')).toMatchObject({
        level: 'error',
        code: 'unavailable',
      });
      expect(lines.find((l) => l.msg === 'request')).toMatchObject({ status: 499 });
    } finally {
      await ci.close().catch(() => {});
    }
  });
});
