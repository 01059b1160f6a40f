import { Hono, type Context } from 'hono';
import type { Scim } from '../config/compile.js';
import type { AppDeps } from '../deps.js';
import {
  LIST_SCHEMA,
  serviceProviderConfig,
  userResourceType,
  userSchema,
} from '../scim/discovery.js';
import { userResource } from '../scim/resource.js';
import { USER_SCHEMA } from '../scim/user.js';
import { ScimUsers, type Caller } from '../scim/users.js';
import { constantTimeEqual, sha256Hex } from '../shared/crypto.js';
import { BrokerError } from '../shared/errors.js';
import { requestInfo } from './respond.js';
import { SCIM_JSON, scimErrorResponse } from './scim-errors.js';

/** Where createApp mounts these routes. */
export const SCIM_BASE = '/scim/v2';
/** Far deeper than any User; a deeper body is refused before anything walks it recursively. */
const MAX_DEPTH = 32;
/** A bearer secret is far shorter; a longer header is refused without hashing it. */
const MAX_AUTHORIZATION = 1024;

/**
 * SCIM 2.0 (RFC 7644) for the organisation's directory: Users, and the
 * three documents a directory reads first. Every request needs the bearer
 * secret whose SHA-256 is `scim.token_sha256`; every answer is
 * application/scim+json, errors included.
 */
export function scimRoutes(deps: AppDeps, scim: Scim): Hono {
  const base = `${deps.config.issuer}${SCIM_BASE}`;
  const users = new ScimUsers({
    store: deps.store,
    clock: deps.clock,
    revoked: (count) => deps.metrics.tokensRevoked('scim', count),
  });
  const app = new Hono();

  app.use(async function scimAuth(c, next) {
    await authenticate(c, scim);
    await next();
  });
  app.onError((err, c) => scimErrorResponse(err, c, deps.logger));

  const caller = (c: Context): Caller => requestInfo(c, deps);
  const user = (c: Context, u: Parameters<typeof userResource>[0], status: 200 | 201 = 200) =>
    scimJson(c, userResource(u, base), status);
  const list = (c: Context, resources: unknown[], total = resources.length, startIndex = 1) =>
    scimJson(c, {
      schemas: [LIST_SCHEMA],
      totalResults: total,
      startIndex,
      itemsPerPage: resources.length,
      Resources: resources,
    });

  app.get('/Users', async (c) => {
    const page = await users.list({
      filter: c.req.query('filter'),
      startIndex: c.req.query('startIndex'),
      count: c.req.query('count'),
    });
    const resources = page.users.map((u) => userResource(u, base));
    return list(c, resources, page.total, page.startIndex);
  });
  app.post('/Users', async (c) => {
    const created = await users.create(await readJson(c), caller(c));
    c.header('Location', `${base}/Users/${created.id}`);
    return user(c, created, 201);
  });
  app.get('/Users/:id', async (c) => user(c, await users.get(c.req.param('id'))));
  app.put('/Users/:id', async (c) =>
    user(c, await users.replace(c.req.param('id'), await readJson(c), caller(c))),
  );
  app.patch('/Users/:id', async (c) =>
    user(c, await users.patch(c.req.param('id'), await readJson(c), caller(c))),
  );
  app.delete('/Users/:id', async (c) => {
    await users.delete(c.req.param('id'), caller(c));
    return c.body(null, 204);
  });

  app.get('/ServiceProviderConfig', (c) => scimJson(c, serviceProviderConfig(base)));
  app.get('/ResourceTypes', (c) => list(c, [userResourceType(base)]));
  app.get('/ResourceTypes/User', (c) => scimJson(c, userResourceType(base)));
  app.get('/Schemas', (c) => list(c, [userSchema(base)]));
  app.get(`/Schemas/${USER_SCHEMA}`, (c) => scimJson(c, userSchema(base)));

  app.all('*', (c) => {
    throw new BrokerError(
      'not_found',
      `no SCIM endpoint ${c.req.method} ${c.req.path}: this broker provisions Users only (${SCIM_BASE}/Users); turn off group push in the directory`,
    );
  });
  return app;
}

function scimJson(c: Context, body: unknown, status: 200 | 201 = 200): Response {
  c.header('Content-Type', SCIM_JSON);
  c.header('Cache-Control', 'no-store');
  return c.body(JSON.stringify(body), status);
}

async function authenticate(c: Context, scim: Scim): Promise<void> {
  const header = c.req.header('authorization') ?? '';
  const unauthorized = (why: string) =>
    new BrokerError(
      'invalid_token',
      `${why}: send Authorization: Bearer <the SCIM secret whose SHA-256 is scim.token_sha256 in the broker's config>`,
    );
  if (header === '') throw unauthorized('no bearer secret');
  if (header.length > MAX_AUTHORIZATION) throw unauthorized('the Authorization header is too long');
  const space = header.indexOf(' ');
  const secret = header.slice(space + 1).trim();
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer' || secret === '') {
    throw unauthorized('the Authorization header is not a bearer secret');
  }
  // Compared on the hashes: equal lengths, and the time taken says nothing about the secret.
  if (!constantTimeEqual(await sha256Hex(secret), scim.tokenSha256)) {
    throw unauthorized('the bearer secret is wrong');
  }
}

/** The body as JSON (any content type a directory sends: application/scim+json or application/json). */
async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BrokerError(
      'scim_invalid_syntax',
      text.trim() === ''
        ? 'the request has no body: send the SCIM resource as JSON'
        : 'the body is not valid JSON: send the SCIM resource as JSON',
    );
  }
  const problem = shapeProblem(body);
  if (problem) throw new BrokerError('scim_invalid_syntax', problem);
  return body;
}

/**
 * Too deep to walk recursively, or a `__proto__` key (which, copied onto
 * an object, would set its prototype). Walked with a stack, not recursion,
 * so a deep body cannot overflow it.
 */
function shapeProblem(value: unknown): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_DEPTH) return `the body nests deeper than ${MAX_DEPTH} levels`;
    for (const [key, child] of Object.entries(v)) {
      if (key === '__proto__')
        return 'the body has a "__proto__" key: no SCIM attribute is named so';
      stack.push([child, depth + 1]);
    }
  }
  return undefined;
}
