/**
 * Strict parsing of a compact JWS (RFC 7515 §7.1) whose payload is a JWT
 * claims set: exactly three base64url segments, a JSON object header and
 * payload in valid UTF-8. Nothing here trusts the token; verification is the
 * caller's next step, on `signingInput` and `signature`.
 */
export interface ParsedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
}

import { BASE64URL_ALPHABET } from '../shared/crypto.js';

export class JwsFormatError extends Error {}

const SEGMENT = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function parseCompactJws(token: string): ParsedJws {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwsFormatError('not three dot-separated segments');
  const [h, p, s] = parts as [string, string, string];
  // An empty signature is left for the algorithm check, which names `none` in its refusal.
  if (!h || !p) throw new JwsFormatError('an empty header or payload');
  const header = jsonObject(h, 'header');
  const payload = jsonObject(p, 'payload');
  return {
    header,
    payload,
    signingInput: encoder.encode(`${h}.${p}`),
    signature: base64urlDecode(s),
  };
}

/**
 * Decodes base64url without padding, refusing any character outside its
 * alphabet and any non-canonical spelling: the bits of the last character
 * that encode no byte must be zero (RFC 4648 §3.5), so that each byte string
 * has exactly one encoding and a signature cannot be re-spelled.
 */
export function base64urlDecode(text: string): Uint8Array<ArrayBuffer> {
  const rest = text.length % 4;
  if (!SEGMENT.test(text) || rest === 1) throw new JwsFormatError('not base64url');
  if (rest !== 0 && BASE64URL_ALPHABET.indexOf(text.at(-1)!) & (rest === 2 ? 0b1111 : 0b11))
    throw new JwsFormatError('not canonical base64url');
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function jsonObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(base64urlDecode(segment)));
  } catch {
    throw new JwsFormatError(`${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new JwsFormatError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}
