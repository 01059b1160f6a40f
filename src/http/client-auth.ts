import type { Context } from 'hono';
import { BrokerError } from '../shared/errors.js';
import type { ResourceServer } from '../config/compile.js';
import type { Logger } from '../shared/log.js';
import { constantTimeEqual, sha256Hex } from '../shared/crypto.js';
import type { RateLimits } from '../rate-limit/limits.js';

const DUMMY = '0'.repeat(64);

function decodeBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(
      Uint8Array.from(atob(m[1]!), (ch) => ch.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  // RFC 6749 section 2.3.1: both parts are form-urlencoded before base64.
  try {
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: unform(decoded.slice(0, i)), secret: unform(decoded.slice(i + 1)) };
  } catch {
    return { id: decoded.slice(0, i), secret: decoded.slice(i + 1) };
  }
}

export interface ClientAuthOptions {
  /** Where the caller connects from, for the failed-authentication limit. */
  address: string | null;
  /** Failed-authentication limit; none when rate limiting is off. */
  limits: RateLimits | undefined;
  logger: Logger;
}

/**
 * Authenticates a resource server by HTTP Basic. The secret is hashed and the
 * digests compared in constant time; an unknown client id costs the same
 * hash and compare, so timing tells nothing about which ids exist. Failures
 * are counted per (address, client_id) and, past `rate_limit.failed_auth`,
 * that pair is refused with 429 before its secret is looked at.
 */
export async function authenticateResourceServer(
  c: Context,
  servers: readonly ResourceServer[],
  options: ClientAuthOptions,
): Promise<ResourceServer> {
  const creds = decodeBasic(c.req.header('authorization'));
  const server = creds && servers.find((s) => s.clientId === creds.id);
  const key = { address: options.address, knownClientId: server?.clientId };
  await options.limits?.checkFailedAuth(key);
  const fail = async (message: string): Promise<never> => {
    if (await options.limits?.recordFailedAuth(key)) {
      options.logger.warn('failed client authentication limit reached', {
        clientAddress: options.address,
        clientId: key.knownClientId ?? '(unknown)',
      });
    }
    throw new BrokerError('invalid_client', message);
  };
  if (!creds) {
    return fail(
      'authenticate with HTTP Basic as a resource_servers entry (client_id and its secret)',
    );
  }
  const digest = await sha256Hex(creds.secret);
  const ok = constantTimeEqual(digest, server?.secretSha256 ?? DUMMY);
  if (!server || !ok) {
    return fail(
      'client authentication failed: check the client_id and secret against resource_servers in the broker config',
    );
  }
  return server;
}
