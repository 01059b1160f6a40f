import fc from 'fast-check';
import { connect } from 'node:net';
import { listen } from '../helpers/listen.js';
import { text } from './arbitraries.js';
import { SLOW_MS, fail, logKind, type Stats } from './http.js';
import type { World } from './world.js';

/**
 * The part `app.request()` cannot reach: bytes on a real socket to the Node
 * adapter. Content-Length that promises more or less than is sent, chunked
 * bodies, pipelining, a client that hangs up mid-body, HTTP/1.0, odd header
 * bytes. The server must never answer 5xx, never log an error for what the
 * client did, and keep answering.
 */
const target = fc.constantFrom(
  '/token',
  '/revoke',
  '/introspect',
  '/saml/acs',
  '/tokens',
  '/healthz',
  '/nope',
);

export const socketCase = fc.record({
  path: target,
  body: fc.oneof(
    fc.constantFrom('grant_type=x&subject_token=y', 'token=abc', '{"token":"x"}', ''),
    text,
  ),
  framing: fc.constantFrom(
    'exact',
    'short-body-hangup',
    'long-body',
    'chunked',
    'bad-chunk',
    'pipelined',
    'http10',
    'no-length-hangup',
    'headers-only-hangup',
    'huge-length',
    'negative-length',
  ),
  contentType: fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/json',
    'text/plain',
  ),
  extraHeader: fc.option(
    fc.constantFrom(
      'X-A: \u00ff\u00fe',
      'Transfer-Encoding: chunked',
      'Content-Length: 1',
      `X-Big: ${'a'.repeat(20_000)}`,
      'Expect: 100-continue',
    ),
    { nil: undefined },
  ),
});
export type SocketCase = typeof socketCase extends fc.Arbitrary<infer T> ? T : never;

let server: Promise<{ url: string; close: () => Promise<void> }> | undefined;

/** The world's app on a loopback port, started on first use. */
export function socketServer(world: World) {
  server ??= listen(world.broker.app.fetch);
  return server;
}

export async function closeSocketServer(): Promise<void> {
  if (server) await (await server).close();
  server = undefined;
}

function message(c: SocketCase): { bytes: string; hangUp: boolean } {
  const body = Buffer.from(c.body, 'utf8');
  const head = (version: string, lines: string[]) =>
    [
      `POST ${c.path} HTTP/${version}`,
      'Host: broker.test',
      `Content-Type: ${c.contentType}`,
      ...lines,
      ...(c.extraHeader ? [c.extraHeader] : []),
    ].join('\r\n') + '\r\n\r\n';
  const raw = body.toString('latin1');
  switch (c.framing) {
    case 'exact':
      return {
        bytes: head('1.1', [`Content-Length: ${body.length}`, 'Connection: close']) + raw,
        hangUp: false,
      };
    case 'short-body-hangup':
      return { bytes: head('1.1', [`Content-Length: ${body.length + 10}`]) + raw, hangUp: true };
    case 'long-body':
      return {
        bytes:
          head('1.1', [`Content-Length: ${Math.max(0, body.length - 3)}`, 'Connection: close']) +
          raw +
          'GARBAGE',
        hangUp: false,
      };
    case 'chunked':
      return {
        bytes:
          head('1.1', ['Transfer-Encoding: chunked', 'Connection: close']) +
          (body.length ? `${body.length.toString(16)}\r\n${raw}\r\n` : '') +
          '0\r\n\r\n',
        hangUp: false,
      };
    case 'bad-chunk':
      return {
        bytes:
          head('1.1', ['Transfer-Encoding: chunked', 'Connection: close']) +
          `zz\r\n${raw}\r\n0\r\n\r\n`,
        hangUp: false,
      };
    case 'pipelined': {
      const one = head('1.1', [`Content-Length: ${body.length}`]) + raw;
      return {
        bytes: one + one + 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        hangUp: false,
      };
    }
    case 'http10':
      return { bytes: head('1.0', [`Content-Length: ${body.length}`]) + raw, hangUp: false };
    case 'no-length-hangup':
      return { bytes: head('1.1', []) + raw, hangUp: true };
    case 'headers-only-hangup':
      return { bytes: head('1.1', [`Content-Length: ${body.length}`]), hangUp: true };
    case 'huge-length':
      return {
        bytes: head('1.1', ['Content-Length: 99999999999', 'Connection: close']) + raw,
        hangUp: true,
      };
    case 'negative-length':
      return {
        bytes: head('1.1', ['Content-Length: -1', 'Connection: close']) + raw,
        hangUp: false,
      };
  }
}

/** Writes the bytes; reads until the server closes (or, for a hang-up, closes first); returns what came back. */
function exchange(
  port: number,
  bytes: string,
  hangUp: boolean,
): Promise<{ data: string; ms: number; timedOut: boolean }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1');
    let settled = false;
    const done = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({
        data: Buffer.concat(chunks).toString('latin1'),
        ms: performance.now() - start,
        timedOut,
      });
    };
    const timer = setTimeout(() => done(true), SLOW_MS);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
    sock.on('connect', () => {
      sock.write(Buffer.from(bytes, 'latin1'));
      // A hang-up: the client goes away with the body unfinished.
      if (hangUp) setTimeout(() => sock.destroy(), 5);
    });
  });
}

export async function runSocket(world: World, stats: Stats, c: SocketCase): Promise<void> {
  const { url } = await socketServer(world);
  const port = Number(new URL(url).port);
  const { bytes, hangUp } = message(c);
  const errorsBefore = world.errors.length;
  const describe = () => `socket ${JSON.stringify({ ...c, body: c.body.slice(0, 200) })}`;
  const { data, timedOut } = await exchange(port, bytes, hangUp);
  const statuses = [...data.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
  stats.requests++;
  const endpoint = `socket ${c.framing}`;
  stats.byEndpoint.set(endpoint, (stats.byEndpoint.get(endpoint) ?? 0) + 1);
  for (const s of statuses) stats.byStatus.set(s, (stats.byStatus.get(s) ?? 0) + 1);
  if (timedOut && !hangUp && c.framing !== 'huge-length') {
    fail('slow', `no complete answer within ${SLOW_MS} ms on a real socket | ${describe()}`);
  }
  const bad = statuses.find((s) => s >= 500);
  if (bad) fail('5xx', `a real socket got ${bad}: ${data.slice(0, 300)} | ${describe()}`);
  // The server notices a hang-up a moment later: give its error handling that moment.
  if (hangUp) await new Promise((r) => setTimeout(r, 20));
  if (world.errors.length > errorsBefore) {
    const e = world.errors[errorsBefore]!;
    fail(
      logKind(e),
      `after a real-socket request the broker logged "${e.msg}" ${JSON.stringify(e.fields)?.slice(0, 300)} | ${describe()}`,
    );
  }
}
