import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLogger } from '../../src/shared/log.js';
import { startServer, type RunningServer } from '../../src/node/server.js';
import { basic, HUB_SECRET, tempDir, testConfig } from '../helpers/broker.js';

let server: RunningServer | undefined;
let cleanup: () => void = () => {};
let lines: Record<string, unknown>[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  cleanup();
});

async function start(rateLimit: Record<string, string> | false): Promise<string> {
  const t = tempDir();
  cleanup = t.cleanup;
  const config = await testConfig({ database: join(t.dir, 'tb.db'), rate_limit: rateLimit });
  lines = [];
  server = await startServer(config, {
    host: '127.0.0.1',
    port: 0,
    logger: jsonLogger((l) => lines.push(JSON.parse(l) as Record<string, unknown>)),
  });
  return server.url;
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: Record<string, unknown>;
}

/** POST /introspect over a real socket from a chosen loopback address (127.0.0.x). */
function introspectFrom(
  url: string,
  from: string,
  authorization: string | undefined,
): Promise<Answer> {
  const { port } = new URL(url);
  const body = 'token=not-a-token';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: Number(port),
        localAddress: from,
        method: 'POST',
        path: '/introspect',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(body),
          ...(authorization ? { Authorization: authorization } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            retryAfter: res.headers['retry-after'],
            body: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const A = '127.0.0.1';
const B = '127.0.0.2';
const good = basic('hub', HUB_SECRET);
const wrong = (i: number) => basic('hub', `guess-${i}`);

function expectLimited(a: Answer) {
  expect(a.status).toBe(429);
  expect(Number(a.retryAfter)).toBeGreaterThan(0);
  expect(Number(a.retryAfter)).toBeLessThanOrEqual(60);
  expect(a.body.error).toBe('temporarily_unavailable');
  expect(a.body.error_description).toMatch(
    /^too many failed client authentications for this client_id from this address \(limit 5 per 1m\): check the secret in resource_servers and retry after \d+s$/,
  );
}

describe('failed client authentication at /introspect (rate_limit.failed_auth)', () => {
  it('refuses an (address, client_id) after failed_auth failures, even with the right secret', async () => {
    const url = await start({ failed_auth: '5/1m' });
    for (let i = 0; i < 5; i++) expect((await introspectFrom(url, A, wrong(i))).status).toBe(401);
    expectLimited(await introspectFrom(url, A, wrong(5)));
    expectLimited(await introspectFrom(url, A, good));
    // The operator hears of it once, with no secret in the line.
    const warned = lines.filter((l) => l.level === 'warn');
    expect(warned).toEqual([
      expect.objectContaining({
        msg: 'failed client authentication limit reached',
        clientAddress: A,
        clientId: 'hub',
      }),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/guess-|hub-secret/);
  });

  it('keeps serving the same client_id from another address', async () => {
    const url = await start({ failed_auth: '5/1m' });
    for (let i = 0; i < 5; i++) await introspectFrom(url, A, wrong(i));
    expectLimited(await introspectFrom(url, A, good));
    const other = await introspectFrom(url, B, good);
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ active: false });
  });

  it('never counts successful authentications: a busy resource server is never throttled', async () => {
    const url = await start({ failed_auth: '5/1m', per_client: '5/1m' });
    for (let i = 0; i < 60; i++) expect((await introspectFrom(url, A, good)).status).toBe(200);
    // Four failures among them still leave it under the limit.
    for (let i = 0; i < 4; i++) expect((await introspectFrom(url, A, wrong(i))).status).toBe(401);
    for (let i = 0; i < 20; i++) expect((await introspectFrom(url, A, good)).status).toBe(200);
  });

  it('counts every unknown client_id from an address in one bucket, apart from the real ones', async () => {
    const url = await start({ failed_auth: '5/1m' });
    for (let i = 0; i < 5; i++) {
      const random = basic(`random-${i}-${Math.random()}`, 'x');
      expect((await introspectFrom(url, A, random)).status).toBe(401);
    }
    expectLimited(await introspectFrom(url, A, basic('yet-another-id', 'x')));
    expectLimited(await introspectFrom(url, A, undefined)); // no credentials at all
    expect((await introspectFrom(url, A, good)).status).toBe(200);
  });

  it('applies no limit when rate_limit is false', async () => {
    const url = await start(false);
    for (let i = 0; i < 100; i++) expect((await introspectFrom(url, A, wrong(i))).status).toBe(401);
    expect((await introspectFrom(url, A, good)).status).toBe(200);
  });
});
