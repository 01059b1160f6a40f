import { parseDuration } from '../protocol/duration.js';
import { scopeSyntaxProblem } from '../protocol/scope.js';
import { ClientError } from './errors.js';
import { isLoopbackHost } from '../shared/url.js';

/**
 * Checks of what a user typed (action inputs, CLI flags), done before any
 * network call. `name` is how the user wrote the setting (`broker-url`,
 * `--broker`), so the message points at the line to fix.
 */

/** The broker's base URL, without a trailing slash. */
export function parseBrokerUrl(raw: string, name: string): string {
  const value = raw.trim();
  if (!value) {
    throw new ClientError(
      'usage',
      `${name} is required: set it to the broker's base URL, e.g. https://broker.example.com`,
    );
  }
  const problem = urlProblem(value);
  if (problem) throw new ClientError('usage', `${name} ${JSON.stringify(value)} ${problem}`);
  const url = new URL(value);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Why a URL must not receive a credential, or undefined. Plain http is for a
 * broker on the same machine only: anywhere else it would put the CI token on
 * the wire in clear.
 */
export function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL: write it in full, e.g. https://broker.example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return 'is not an http(s) URL: write it in full, e.g. https://broker.example.com';
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return 'uses plain http: use https (http is accepted for localhost only: localhost, 127.0.0.0/8, [::1])';
  }
  if (url.search || url.hash || url.username || url.password) {
    return 'has a query, fragment or credentials: give the base URL only';
  }
  return undefined;
}

/** A lifetime in seconds (as the string to send), or undefined for the broker's default. */
export function parseTtlSetting(raw: string, name: string): string | undefined {
  const value = raw.trim();
  if (!value) return undefined;
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds < 1) {
    throw new ClientError(
      'usage',
      `${name} ${JSON.stringify(value)} is not a lifetime: give seconds (900) or a duration (90s, 15m, 1h)`,
    );
  }
  return String(seconds);
}

/**
 * Space-separated scopes (newlines allowed, for a YAML block); undefined asks
 * the broker for everything the policy grants.
 */
export function parseScopeSetting(raw: string, name: string): string | undefined {
  const scopes = [...new Set(raw.split(/\s+/).filter(Boolean))];
  for (const s of scopes) {
    const problem = scopeSyntaxProblem(s);
    if (problem) throw new ClientError('usage', `${name}: ${problem}`);
  }
  return scopes.length ? scopes.join(' ') : undefined;
}
