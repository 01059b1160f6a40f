import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

/**
 * STAND-IN for the broker's device flow (RFC 8628 sections 3.1-3.5), written
 * from the RFC and SPEC section 4 while the broker's own is built on another
 * branch. It answers discovery, POST /device_authorization and the device
 * grant on POST /token from a script, and records what the client sent and
 * when (on the test's clock). Once the real device flow is merged, the tests
 * that go through the whole flow use the real broker (test/helpers/broker.ts);
 * the ones that script answers the real broker cannot be made to give on cue
 * (a 503 in the middle, a Retry-After) may keep this.
 */
export interface DeviceStandIn {
  url: string;
  /** The answer to POST /device_authorization (`${url}` in strings is replaced by the URL). */
  authorization: Record<string, unknown>;
  /** Answers to the next polls of /token, in order; `authorization_pending` when none is left. */
  polls: Canned[];
  /** Leaves device_authorization_endpoint out of the metadata, as a broker without the flow. */
  omitDeviceEndpoint?: boolean;
  /** Every request: path, form fields, and the test clock's time when it came. */
  seen: { path: string; form: Record<string, string>; at: number }[];
  close(): Promise<void>;
}

export interface Canned {
  status: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export const pending: Canned = { status: 400, body: { error: 'authorization_pending' } };
export const slowDown: Canned = { status: 400, body: { error: 'slow_down' } };
export const denied: Canned = { status: 400, body: { error: 'access_denied' } };
export const expiredToken: Canned = {
  status: 400,
  body: { error: 'expired_token', error_description: 'the code expired 3s ago' },
};

/** A token answer whose JWT carries these claims (signed by a throwaway key: nobody verifies it here). */
export async function tokenAnswer(
  claims: { sub: string; aud: string; scope: string; exp: number },
  expiresIn: number,
): Promise<Canned> {
  const key = new Uint8Array(32).fill(7);
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .sign(key);
  return {
    status: 200,
    body: { access_token: jwt, token_type: 'Bearer', expires_in: expiresIn, scope: claims.scope },
  };
}

export async function startDeviceStandIn(clock: () => number): Promise<DeviceStandIn> {
  const standIn: DeviceStandIn = {
    url: '',
    authorization: {
      device_code: 'device-code-from-the-stand-in',
      user_code: 'WDJB-MJHT',
      verification_uri: '${url}/device',
      verification_uri_complete: '${url}/device?user_code=WDJB-MJHT',
      expires_in: 600,
      interval: 5,
    },
    polls: [],
    seen: [],
    close: async () => {},
  };
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const form = Object.fromEntries(new URLSearchParams(await body(req)));
    standIn.seen.push({ path, form, at: clock() });
    const send = (c: Canned) => {
      res.writeHead(c.status, { 'content-type': 'application/json', ...c.headers });
      res.end(JSON.stringify(c.body ?? {}));
    };
    if (path === '/.well-known/oauth-authorization-server') {
      return send({
        status: 200,
        body: {
          issuer: standIn.url,
          token_endpoint: `${standIn.url}/token`,
          revocation_endpoint: `${standIn.url}/revoke`,
          ...(standIn.omitDeviceEndpoint
            ? {}
            : { device_authorization_endpoint: `${standIn.url}/device_authorization` }),
        },
      });
    }
    if (path === '/device_authorization' && req.method === 'POST') {
      const filled = JSON.parse(
        JSON.stringify(standIn.authorization).replaceAll('${url}', standIn.url),
      ) as Record<string, unknown>;
      return send({ status: 200, body: filled });
    }
    if (path === '/token' && req.method === 'POST') return send(standIn.polls.shift() ?? pending);
    return send({ status: 404, body: { error: 'invalid_request' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standIn;
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}
