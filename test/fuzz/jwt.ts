import { createHmac } from 'node:crypto';
import type { CryptoKey } from 'jose';

/**
 * Compact JWS built by hand, so the fuzzer controls every byte: the header
 * may claim an algorithm the key does not use, the payload may be any JSON,
 * and the token may then be altered bytewise.
 */
export interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
}

export type Signer =
  | { kind: 'key'; key: SigningKey }
  | { kind: 'none' }
  /** HMAC keyed by a guessable secret: the "alg confusion" forger. */
  | { kind: 'hmac'; secret: string }
  | { kind: 'garbage'; bytes: number };

export const b64url = (data: Uint8Array | string): string =>
  Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');

export async function signJws(header: unknown, payload: unknown, signer: Signer): Promise<string> {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${await signature(input, signer)}`;
}

async function signature(input: string, signer: Signer): Promise<string> {
  switch (signer.kind) {
    case 'none':
      return '';
    case 'hmac':
      return createHmac('sha256', signer.secret).update(input).digest('base64url');
    case 'garbage':
      return b64url(new Uint8Array(signer.bytes).map((_, i) => (i * 37 + 11) & 0xff));
    case 'key': {
      const k = signer.key.privateKey;
      const params =
        k.algorithm.name === 'ECDSA'
          ? { name: 'ECDSA', hash: 'SHA-256' }
          : { name: k.algorithm.name, saltLength: 32 };
      const sig = await crypto.subtle.sign(params, k, new TextEncoder().encode(input));
      return b64url(new Uint8Array(sig));
    }
  }
}

/** A byte-level change to a token string; `at` is a fraction of the length, so it shrinks well. */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; ch: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; n: number }
  | { op: 'truncate'; at: number }
  /** Changes only the unused low bits of the signature's last character. */
  | { op: 'respell' }
  | { op: 'swap-segments'; a: number; b: number }
  | { op: 'duplicate-segment'; i: number };

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function mutate(token: string, m: Mutation): string {
  const pos = (at: number) =>
    Math.min(token.length - 1, Math.max(0, Math.floor(at * token.length)));
  switch (m.op) {
    case 'flip': {
      const i = pos(m.at);
      const ch = String.fromCharCode(token.charCodeAt(i) ^ (1 << m.bit));
      return token.slice(0, i) + ch + token.slice(i + 1);
    }
    case 'set': {
      const i = pos(m.at);
      return token.slice(0, i) + m.ch + token.slice(i + 1);
    }
    case 'insert': {
      const i = pos(m.at);
      return token.slice(0, i) + m.text + token.slice(i);
    }
    case 'delete': {
      const i = pos(m.at);
      return token.slice(0, i) + token.slice(i + m.n);
    }
    case 'truncate':
      return token.slice(0, pos(m.at));
    case 'respell': {
      const last = token.at(-1)!;
      const sigLen = token.length - token.lastIndexOf('.') - 1;
      const spare = sigLen % 4 === 2 ? 0b1111 : sigLen % 4 === 3 ? 0b11 : 0;
      if (spare === 0) return token;
      const v = ALPHABET.indexOf(last);
      return token.slice(0, -1) + ALPHABET[(v & ~spare) | (((v & spare) + 1) & spare)];
    }
    case 'swap-segments': {
      const parts = token.split('.');
      const a = m.a % parts.length;
      const b = m.b % parts.length;
      [parts[a], parts[b]] = [parts[b]!, parts[a]!];
      return parts.join('.');
    }
    case 'duplicate-segment': {
      const parts = token.split('.');
      parts.splice(m.i % parts.length, 0, parts[m.i % parts.length]!);
      return parts.join('.');
    }
  }
}

/**
 * The bytes a lenient decoder (Node's, jose's) reads from each segment: two
 * spellings with the same bytes here are "the same token re-spelled".
 */
export function lenientBytes(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  return parts.map((p) => Buffer.from(p, 'base64url').toString('hex')).join('.');
}

/** The JSON of a segment, or undefined. */
export function decodeSegment(token: string, i: number): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(token.split('.')[i] ?? '', 'base64url').toString());
    return v && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
