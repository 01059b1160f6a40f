import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLogger } from '../../src/shared/log.js';
import { startServer, type RunningServer } from '../../src/node/server.js';
import { tempDir, testConfig } from '../helpers/broker.js';
import { rawClient, type RawClient } from '../helpers/raw-http.js';

let server: RunningServer | undefined;
let clients: RawClient[] = [];
let cleanup: () => void = () => {};
let lines: Record<string, unknown>[] = [];
afterEach(async () => {
  for (const c of clients) c.socket.destroy();
  clients = [];
  await server?.close();
  server = undefined;
  cleanup();
});

async function start(extra: { maxConnections?: number } = {}) {
  const t = tempDir();
  cleanup = t.cleanup;
  const config = await testConfig({
    database: join(t.dir, 'tb.db'),
    limits: { request_timeout: '1s' },
  });
  lines = [];
  server = await startServer(config, {
    host: '127.0.0.1',
    port: 0,
    logger: jsonLogger((l) => lines.push(JSON.parse(l) as Record<string, unknown>)),
    ...extra,
  });
  return server;
}

async function client(url: string): Promise<RawClient> {
  const c = await rawClient(url);
  clients.push(c);
  return c;
}

const POST_HEAD =
  'POST /revoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n';

describe('slow clients over a real socket (limits.request_timeout 1s)', () => {
  it('cuts a client that dribbles its headers', async () => {
    const { url } = await start();
    const c = await client(url);
    void c.dribble(`${POST_HEAD}X-Slow: ${'a'.repeat(100)}\r\n\r\n`, 100);
    await c.closed;
    expect(c.closedAfterMs()).toBeLessThan(2_500);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts a client that sends its headers, then dribbles its body', async () => {
    const { url } = await start();
    const c = await client(url);
    c.write(`${POST_HEAD}Content-Length: 100\r\n\r\n`);
    void c.dribble('token='.padEnd(100, 'a'), 100);
    await c.closed;
    expect(c.closedAfterMs()).toBeLessThan(2_500);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    // Logged as the 408 it was sent, not as a client abort or a server error.
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({
      level: 'info',
      path: '/revoke',
      status: 408,
    });
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('cuts a client that connects and sends nothing', async () => {
    const { url } = await start();
    const c = await client(url);
    await c.closed;
    expect(c.closedAfterMs()).toBeLessThan(2_500);
  });

  it('closes an idle keep-alive connection after its request was answered', async () => {
    const { url } = await start();
    const c = await client(url);
    c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await c.waitFor(/\r\n\r\n/)).toMatch(/^HTTP\/1\.1 200 /);
    await c.closed;
    // keepAliveTimeout (here 1s) plus the slack Node gives itself before closing.
    expect(c.closedAfterMs()).toBeLessThan(3_500);
  });

  it('keeps at most the cap of connections, closing the oldest slow one so /healthz answers during a flood', async () => {
    const { url } = await start({ maxConnections: 3 });
    const held: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await client(url);
      c.write(POST_HEAD); // connected, request unfinished
      held.push(c);
    }
    await new Promise((r) => setTimeout(r, 100)); // the server has accepted all three
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await held[0]!.closed;
    expect(held[0]!.closedAfterMs()).toBeLessThan(800); // closed for the newcomer, not timed out
    expect(held.slice(1).map((c) => c.closedAfterMs())).toEqual([undefined, undefined]);
    expect(lines.find((l) => String(l.msg).startsWith('connection limit'))).toMatchObject({
      level: 'warn',
      msg: 'connection limit reached: closing the oldest connections not being answered',
      maxConnections: 3,
    });
  });
});

describe('shutdown with clients in flight', () => {
  it('answers a request that finishes within the grace, cuts one that does not, and finishes', async () => {
    const s = await start();
    const finishing = await client(s.url);
    finishing.write(`${POST_HEAD}Content-Length: 8\r\n\r\ntoken=`);
    const slow = await client(s.url);
    void slow.dribble(`${POST_HEAD}X-Slow: ${'a'.repeat(100)}\r\n\r\n`, 100);
    const idle = await client(s.url);
    idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.waitFor(/\r\n\r\n/);
    await new Promise((r) => setTimeout(r, 50));

    const started = Date.now();
    const closing = s.close();
    server = undefined;
    // The idle keep-alive connection goes at once.
    await idle.closed;
    // The one whose body is still coming is answered when it ends.
    finishing.write('ab');
    const answer = await finishing.waitFor(/\r\n\r\n/);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    await closing;
    expect(Date.now() - started).toBeLessThan(2_000);
    await slow.closed;
    expect(slow.received()).not.toMatch(/^HTTP\/1\.1 200 /);
  });
});
