import { decodeJwt } from 'jose';
import { ClientError } from '../client/errors.js';
import { announcingHttp, type HttpDeps } from '../client/http.js';
import type { TokenResult } from '../client/oauth-answer.js';
import { parseBrokerUrl } from '../client/validate.js';
import { anyCovers } from '../policy/scope.js';
import { isSecureUrl } from '../shared/url.js';
import { escapeForTerminal } from '../shared/terminal.js';
import {
  CredentialsFile,
  credentialsPath,
  type Credentials,
  type StoredLogin,
} from './credentials.js';
import type { Host } from './host.js';
import { CliError, exitCodeOf, hostFor, type CliIO } from './io.js';

/** What `login`, `token`, `logout`, `whoami` and `git-credential` share. */
export interface TerminalContext {
  host: Host;
  file: CredentialsFile;
  /** Requests that say on stderr why they wait before a retry. */
  http: HttpDeps;
}

/** How the CLI introduces itself to the broker (device codes record it). */
export const CLIENT_ID = 'tokenbroker-cli';

/** A stored token is handed out only with more than this left (seconds): it must outlive its use. */
export const MIN_SECONDS_LEFT = 60;

export function terminalContext(io: CliIO): TerminalContext {
  const host = hostFor(io);
  return {
    host,
    file: new CredentialsFile(credentialsPath(io.env, host.platform, host.homedir), {
      checkModes: host.platform !== 'win32',
      now: host.now,
    }),
    http: announcingHttp(host, CLIENT_ID, (line) =>
      io.stderr(`tokenbroker: ${escapeForTerminal(line)}\n`),
    ),
  };
}

/**
 * The broker a command is about: --broker, else TOKENBROKER_URL, else the
 * only one logged in to. With several logins and neither, the user says which.
 */
export function chooseBroker(
  flag: string | undefined,
  env: CliIO['env'],
  credentials: () => Credentials,
): string {
  if (flag !== undefined) return parseBrokerUrl(flag, '--broker');
  if (env.TOKENBROKER_URL) return parseBrokerUrl(env.TOKENBROKER_URL, 'TOKENBROKER_URL');
  const stored = Object.keys(credentials().brokers);
  if (stored.length === 1) return stored[0]!;
  if (stored.length === 0) {
    throw new CliError(
      'no broker given and no login stored: run `tokenbroker login --broker URL` (or set TOKENBROKER_URL)',
      2,
    );
  }
  throw new CliError(
    `logged in to ${stored.length} brokers (${stored.map((s) => escapeForTerminal(s)).join(', ')}): say which with --broker URL (or set TOKENBROKER_URL)`,
    2,
  );
}

/** What is kept of a token answer: the token and what its claims say. */
export function storedLogin(result: TokenResult, nowMs: number): StoredLogin {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(result.accessToken);
  } catch {
    throw new CliError(
      'the broker answered an access_token that is not a JWT: check that the broker URL is a tokenbroker',
    );
  }
  // Printed by `token` and handed to git on one line: a printable word, as the file requires.
  if (!/^[\x21-\x7e]{1,16384}$/.test(result.accessToken)) {
    throw new CliError('the broker answered an access_token that is not printable text');
  }
  const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
  // expires_in counts from our request on our clock, so it survives a skewed clock.
  const expiresAt = result.expiresAt ? Math.floor(result.expiresAt.getTime() / 1000) : exp;
  if (expiresAt === undefined) {
    throw new CliError('the broker answered a token without expires_in or exp: upgrade the broker');
  }
  const aud = claims.aud;
  return {
    access_token: result.accessToken,
    scope: result.scope ?? (typeof claims.scope === 'string' ? claims.scope : ''),
    expires_at: expiresAt,
    subject: typeof claims.sub === 'string' ? claims.sub : '(unknown)',
    audience: typeof aud === 'string' || Array.isArray(aud) ? (aud as string | string[]) : '',
    obtained_at: Math.floor(nowMs / 1000),
  };
}

/** Why a stored login cannot answer for `scopes` now, or undefined when it can. */
export function unusable(
  broker: string,
  login: StoredLogin | undefined,
  scopes: readonly string[],
  nowSeconds: number,
): string | undefined {
  const at = escapeForTerminal(broker);
  if (!login) return `no login stored for ${at}`;
  const left = login.expires_at - nowSeconds;
  if (left <= 0) return `the login to ${at} expired at ${iso(login.expires_at)}`;
  if (left <= MIN_SECONDS_LEFT) return `the login to ${at} expires in ${left}s`;
  const granted = login.scope.split(' ').filter(Boolean);
  const missing = scopes.filter((s) => !anyCovers(granted, s));
  if (missing.length) {
    return `the login to ${at} does not cover ${missing.map((s) => escapeForTerminal(s)).join(' ')}`;
  }
  return undefined;
}

/** The workspace origins a token is for: its audiences that are https URLs (or http on loopback). */
export function workspaceOrigins(login: StoredLogin): string[] {
  const auds = Array.isArray(login.audience) ? login.audience : [login.audience];
  return auds.filter((a) => isSecureUrl(a)).map((a) => new URL(a).origin);
}

/** 2026-01-01T00:15:00Z */
export const iso = (seconds: number) =>
  new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** 14m, 2h05m, 45s: how long until `seconds`. */
export function timeLeft(seconds: number, nowSeconds: number): string {
  const s = Math.max(0, seconds - nowSeconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Runs a terminal command's body, turning a client failure into its exit code. */
export async function asCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof ClientError) throw new CliError(escapeForTerminal(e.message), exitCodeOf(e));
    throw e;
  }
}
