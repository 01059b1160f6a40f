import type { Encoding } from './arbitraries.js';
import { MARKUP } from './arbitraries.js';
import type { World } from './world.js';

/**
 * Sending one request and the checks every response must pass, whatever was
 * sent: no 5xx, no error in the broker's log, bounded time, RFC 6749 error
 * bodies on token endpoints, /revoke's "200 for anything", escaped pages.
 */
export class Violation extends Error {
  constructor(
    /** A stable name for the kind of failure: findings are grouped and de-duplicated by it. */
    readonly kind: string,
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }
}

export function fail(kind: string, message: string): never {
  throw new Violation(kind, message);
}

export interface Stats {
  requests: number;
  byEndpoint: Map<string, number>;
  byStatus: Map<number, number>;
  slow: Array<{ ms: number; what: string }>;
  skipped: number;
  /** Cases per generator and the time they took (set-up such as signing included). */
  byKind: Map<string, { cases: number; ms: number }>;
  /** Warnings the broker's XML parser printed to the console. */
  parserWarnings: number;
}

export const newStats = (): Stats => ({
  requests: 0,
  byEndpoint: new Map(),
  byStatus: new Map(),
  slow: [],
  skipped: 0,
  byKind: new Map(),
  parserWarnings: 0,
});

/** Slower than this is a finding (SPEC: bounded time for anything a stranger sends). */
export const SLOW_MS = 2000;

const TOKEN_ENDPOINTS = new Set(['/token', '/oauth/token', '/introspect', '/revoke']);
const KNOWN = [
  '/.well-known/oauth-authorization-server',
  '/jwks',
  '/token',
  '/oauth/token',
  '/introspect',
  '/revoke',
  '/healthz',
  '/readyz',
  '/saml/metadata',
  '/saml/login',
  '/saml/acs',
  '/saml/logout',
  '/saml/slo',
  '/',
  '/tokens',
];

function endpointOf(method: string, path: string): string {
  const p = path.split('?')[0]!;
  if (KNOWN.includes(p)) return `${method} ${p}`;
  if (/^\/tokens\/[^/]*\/revoke$/.test(p)) return `${method} /tokens/:jti/revoke`;
  if (p.startsWith('/static/') || p.startsWith('/assets/')) return `${method} (static)`;
  return `${method} (other)`;
}

export interface Sent {
  res: Response;
  body: string;
  path: string;
  method: string;
}

/** Params as a body, in one of the encodings the generators pick (some of them wrong on purpose). */
export function encodeBody(
  params: Array<[string, unknown]>,
  enc: Encoding,
): { headers: Record<string, string>; body?: string } {
  const asStrings = params.map(
    ([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')] as [string, string],
  );
  switch (enc) {
    case 'form':
    case 'form-dup': {
      const list =
        enc === 'form-dup' && asStrings.length ? [...asStrings, asStrings[0]!] : asStrings;
      return {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(list).toString(),
      };
    }
    case 'json':
    case 'json-typed': {
      const obj: Record<string, unknown> = {};
      for (const [k, v] of enc === 'json' ? asStrings : params) {
        Object.defineProperty(obj, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return {
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify(obj),
      };
    }
    case 'bad-type':
      return {
        headers: { 'Content-Type': 'text/plain' },
        body: new URLSearchParams(asStrings).toString(),
      };
    case 'none':
      return { headers: {}, body: new URLSearchParams(asStrings).toString() };
  }
}

/**
 * Sends through `app.request()` and applies the checks every response must
 * pass. `describe` names the case in a finding.
 */
export async function send(
  world: World,
  stats: Stats,
  path: string,
  init: RequestInit & { headers?: Record<string, string> },
  describe: () => string,
): Promise<Sent> {
  const method = init.method ?? 'GET';
  const errorsBefore = world.errors.length;
  let req: Request;
  try {
    req = new Request(new URL(path, 'http://broker.test'), init);
  } catch {
    stats.skipped++; // not a request a client can send (a forbidden method, a bad header value)
    return {
      res: new Response(null, { status: 599 }),
      body: '',
      path,
      method,
    };
  }
  const start = performance.now();
  let res: Response;
  let body: string;
  try {
    res = await world.broker.app.request(req);
    body = await res.text();
  } catch (e) {
    fail(
      'crash',
      `the app threw instead of answering: ${(e as Error)?.stack ?? String(e)} | ${describe()}`,
    );
  }
  const ms = performance.now() - start;
  stats.requests++;
  const endpoint = endpointOf(method, new URL(req.url).pathname);
  stats.byEndpoint.set(endpoint, (stats.byEndpoint.get(endpoint) ?? 0) + 1);
  stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
  if (ms > SLOW_MS) {
    stats.slow.push({ ms, what: describe() });
    fail('slow', `${endpoint} took ${Math.round(ms)} ms (over ${SLOW_MS} ms): ${describe()}`);
  }
  checkGeneric(
    world,
    errorsBefore,
    { res, body, path: new URL(req.url).pathname, method },
    describe,
  );
  return { res, body, path: new URL(req.url).pathname, method };
}

/**
 * An error in the log, by kind. A client hanging up (ECONNRESET) is one known
 * fault; with concurrent cases it may surface during another case's request.
 */
export function logKind(e: { fields: unknown }): string {
  return /ECONNRESET|aborted/i.test(JSON.stringify(e.fields) ?? '')
    ? 'hangup-logged-as-error'
    : 'error-logged';
}

// eslint-disable-next-line no-control-regex -- finding raw control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function checkGeneric(world: World, errorsBefore: number, s: Sent, describe: () => string): void {
  const { res, body, path, method } = s;
  const where = `${method} ${path} -> ${res.status}`;
  if (res.status >= 500) fail('5xx', `${where}: ${body.slice(0, 300)} | ${describe()}`);
  if (world.errors.length > errorsBefore) {
    const e = world.errors[errorsBefore]!;
    fail(
      logKind(e),
      `${where}: the broker logged "${e.msg}" ${JSON.stringify(e.fields)?.slice(0, 300)} | ${describe()}`,
    );
  }
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('text/html')) {
    if (body.toLowerCase().includes(MARKUP.slice(0, 5))) {
      fail('html-unescaped', `${where}: the page shows input markup unescaped | ${describe()}`);
    }
    if (CONTROL.test(body)) {
      fail('html-control-char', `${where}: the page holds a raw control character | ${describe()}`);
    }
  }
  if (method === 'POST' && path === '/revoke' && ![200, 413, 429].includes(res.status)) {
    fail(
      'revoke-not-200',
      `${where}: /revoke must answer 200 to any request but 413/429 | ${describe()}`,
    );
  }
  if (method === 'POST' && TOKEN_ENDPOINTS.has(path) && res.status >= 400) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      fail(
        'error-shape',
        `${where}: a token endpoint's error is not JSON: ${body.slice(0, 200)} | ${describe()}`,
      );
    }
    const j = json as Record<string, unknown>;
    if (typeof j?.error !== 'string' || typeof j.error_description !== 'string') {
      fail(
        'error-shape',
        `${where}: no RFC 6749 error/error_description: ${body.slice(0, 200)} | ${describe()}`,
      );
    }
    if (!/no-store/.test(res.headers.get('cache-control') ?? '')) {
      fail(
        'error-shape',
        `${where}: a token endpoint's JSON lacks Cache-Control: no-store | ${describe()}`,
      );
    }
  }
  if (
    res.status === 200 &&
    /"access_token"/.test(body) &&
    !['/token', '/oauth/token'].includes(path)
  ) {
    fail('token-elsewhere', `${where}: an access_token outside the token endpoint | ${describe()}`);
  }
}
