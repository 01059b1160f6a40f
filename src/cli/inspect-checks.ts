import {
  compactVerify,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import type { BrokerKeys } from '../client/broker-keys.js';
import { escapeForTerminal, jsonForTerminal } from '../shared/terminal.js';
import { CliError } from './io.js';
import { iso } from './logins.js';

/**
 * What `tokenbroker token inspect` reads from a token and checks of it. The
 * decoding trusts nothing (the header and claims are whoever made the
 * token's text); the checks use only the keys and issuer of the broker the
 * user named, never the token's `iss` or a key it points at (jku, x5u, jwk).
 */

export interface Decoded {
  header: ProtectedHeaderParameters;
  claims: JWTPayload;
}

/** Far more than any token (the broker's are under 2 KiB, CI tokens a few). */
const MAX_TOKEN_CHARS = 64 * 1024;

/** The algorithms the broker signs with (tokens.algorithm in its config). */
const BROKER_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'];

export function decodeToken(token: string): Decoded {
  if (token.length > MAX_TOKEN_CHARS) {
    throw new CliError(
      `the token is ${token.length} characters long, more than any JWT: check what you passed`,
    );
  }
  const parts = token.split('.').length;
  if (parts === 5) {
    throw new CliError(
      'the token is an encrypted JWT (JWE, five parts): only the holder of its key can read it; broker and CI tokens are signed JWTs of three parts',
    );
  }
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch (e) {
    // jose's messages are its own fixed text, never the token's.
    const why = e instanceof Error ? e.message : String(e);
    throw new CliError(
      `the token is not a JWT (${why}): a JWT is three base64url parts joined by dots (eyJ...); check that you copied all of it`,
    );
  }
}

/** RFC 9068's type, which every token of the broker carries and no CI token does. */
export function isAccessTokenType(typ: unknown): boolean {
  return typeof typ === 'string' && /^(application\/)?at\+jwt$/i.test(typ);
}

export interface Check {
  check: string;
  ok: boolean;
  /** What was found, for the report's line. */
  detail: string;
  /** When it failed: what to do about it. */
  fix?: string;
}

/**
 * Every check of a token against the named broker, all of them run so that
 * the report says everything that is wrong (a second broker's token fails on
 * its key and on its iss). `now` is Unix seconds on this machine's clock.
 */
export async function checkBrokerToken(
  token: string,
  { header, claims }: Decoded,
  keys: BrokerKeys,
  now: number,
): Promise<Check[]> {
  const checks = [await signatureCheck(token, header, keys)];
  const iss = claims.iss;
  checks.push(
    iss === keys.issuer
      ? { check: 'iss', ok: true, detail: "the broker's issuer" }
      : {
          check: 'iss',
          ok: false,
          detail: `iss ${shown(iss)} is not this broker's issuer ${shown(keys.issuer)}`,
          fix: 'the token was issued by someone else (another broker, or a forger); if it came from another broker, name that broker with --broker',
        },
  );
  checks.push(
    isAccessTokenType(header.typ)
      ? { check: 'typ', ok: true, detail: shown(header.typ) }
      : {
          check: 'typ',
          ok: false,
          detail: `typ ${shown(header.typ)} is not at+jwt`,
          fix: "the broker's access tokens all carry typ at+jwt: this is not one of them",
        },
  );
  checks.push(expiryCheck(claims.exp, now));
  if (claims.nbf !== undefined) checks.push(notBeforeCheck(claims.nbf, now));
  return checks;
}

async function signatureCheck(
  token: string,
  header: ProtectedHeaderParameters,
  keys: BrokerKeys,
): Promise<Check> {
  const check = 'signature';
  const alg = header.alg;
  if (typeof alg !== 'string' || !BROKER_ALGORITHMS.includes(alg)) {
    return {
      check,
      ok: false,
      detail: `alg ${shown(alg)} is not one the broker signs with (${BROKER_ALGORITHMS.join(', ')})`,
      fix: 'this is not a token of this broker: do not use it',
    };
  }
  const kid = header.kid;
  const key = keys.jwks.keys.find((k) => k.kid === kid);
  if (typeof kid !== 'string' || !key) {
    return {
      check,
      ok: false,
      detail:
        typeof kid === 'string'
          ? `no key ${shown(kid)} in the broker's JWKS (${escapeForTerminal(keys.jwksUri)})`
          : "the header names no key (kid); the broker's tokens always do",
      fix: 'the token was not signed by this broker (or by a key it has since retired): do not use it; `tokenbroker token` gets a fresh one',
    };
  }
  try {
    await compactVerify(token, createLocalJWKSet(keys.jwks), { algorithms: BROKER_ALGORITHMS });
    return { check, ok: true, detail: `${alg}, by the broker's key ${shown(kid)}` };
  } catch (e) {
    if (e instanceof errors.JWSSignatureVerificationFailed) {
      return {
        check,
        ok: false,
        detail: `does not match the broker's key ${shown(kid)}`,
        fix: "the token was altered, or signed by someone else under the broker's key id: do not use it; `tokenbroker token` gets a fresh one",
      };
    }
    if (e instanceof errors.JOSEError) {
      return {
        check,
        ok: false,
        detail: `cannot be checked with the broker's key ${shown(kid)}: ${e.message}`,
        fix: 'the token does not fit the key of that id: it is not a token of this broker',
      };
    }
    throw e;
  }
}

function expiryCheck(exp: unknown, now: number): Check {
  if (!isTime(exp)) {
    return {
      check: 'exp',
      ok: false,
      detail: `exp ${shown(exp)} is not a time`,
      fix: 'every token of the broker has an expiry: this is not one of them',
    };
  }
  if (exp <= now) {
    return {
      check: 'exp',
      ok: false,
      detail: `expired at ${when(exp, now)}`,
      fix: "get a fresh token with `tokenbroker token` (if this machine's clock is right)",
    };
  }
  return { check: 'exp', ok: true, detail: when(exp, now) };
}

function notBeforeCheck(nbf: unknown, now: number): Check {
  if (!isTime(nbf)) {
    return {
      check: 'nbf',
      ok: false,
      detail: `nbf ${shown(nbf)} is not a time`,
      fix: 'this is not a token of the broker',
    };
  }
  if (nbf > now) {
    return {
      check: 'nbf',
      ok: false,
      detail: `not valid before ${when(nbf, now)}`,
      fix: "check this machine's clock: the broker never issues a token for later",
    };
  }
  return { check: 'nbf', ok: true, detail: when(nbf, now) };
}

/** A NumericDate that a Date can hold (±8.64e12 s; a larger one makes toISOString throw). */
export const isTime = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 8.64e12;

/** `2026-01-01T00:15:00Z, in 12m` or `..., 3m ago`. */
export const when = (seconds: number, now: number) =>
  `${iso(Math.floor(seconds))}, ${relative(seconds, now)}`;

/** in 45s, in 12m, in 2h05m, in 3d04h; 3m ago... */
export function relative(seconds: number, now: number): string {
  const delta = Math.round(seconds - now);
  if (delta === 0) return 'now';
  const s = Math.abs(delta);
  const span =
    s < 60
      ? `${s}s`
      : s < 3600
        ? `${Math.floor(s / 60)}m`
        : s < 86400
          ? `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`
          : `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
  return delta > 0 ? `in ${span}` : `${span} ago`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * A value from the token as JSON, safe for a terminal; never throws (a value
 * nested thousands deep overflows JSON.stringify's stack).
 */
export function shown(value: unknown): string {
  if (value === undefined) return '(none)';
  try {
    return jsonForTerminal(value);
  } catch {
    return '(nested too deep to show)';
  }
}
