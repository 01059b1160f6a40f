/** Small WebCrypto helpers shared by the core; WebCrypto runs on Node and Workers alike. */

/** RFC 4648 section 5: what JWS segments and our random ids are written in. */
export const BASE64URL_ALPHABET =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return hex(new Uint8Array(digest));
}

/**
 * Random bytes come from a pool refilled 4 KiB at a time: one CSPRNG call per
 * ~200 ids instead of one per id (each call crosses into native code). No
 * byte is handed out twice.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

function randomBytes(n: number): Uint8Array {
  if (n > POOL_BYTES) return crypto.getRandomValues(new Uint8Array(n));
  if (used + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  used += n;
  return pool.subarray(used - n, used);
}

/** `bytes` random bytes as unpadded base64url. */
export function randomId(bytes = 16): string {
  const b = randomBytes(bytes);
  let s = '';
  let i = 0;
  for (; i + 3 <= b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s +=
      BASE64URL_ALPHABET[n >> 18]! +
      BASE64URL_ALPHABET[(n >> 12) & 63]! +
      BASE64URL_ALPHABET[(n >> 6) & 63]! +
      BASE64URL_ALPHABET[n & 63]!;
  }
  const rest = b.length - i; // 1 or 2 bytes left: 2 or 3 characters, unused bits zero
  if (rest > 0) {
    const n = (b[i]! << 16) | ((rest === 2 ? b[i + 1]! : 0) << 8);
    s +=
      BASE64URL_ALPHABET[n >> 18]! +
      BASE64URL_ALPHABET[(n >> 12) & 63]! +
      (rest === 2 ? BASE64URL_ALPHABET[(n >> 6) & 63]! : '');
  }
  return s;
}

/**
 * `length` characters drawn uniformly from `alphabet` (at most 256 of them).
 * A byte is used only below the largest multiple of the alphabet's size that
 * fits in a byte, so no character comes up more often than another.
 */
export function randomString(alphabet: string, length: number): string {
  const n = alphabet.length;
  if (n < 2 || n > 256) throw new Error(`an alphabet of ${n} characters cannot be drawn from`);
  const below = 256 - (256 % n);
  let s = '';
  while (s.length < length) {
    for (const b of randomBytes(length - s.length)) {
      if (b < below) s += alphabet[b % n]!;
    }
  }
  return s;
}

/**
 * Compares two strings in time that depends only on their lengths. Callers
 * compare fixed-length digests, so the length leaks nothing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return bytesEqualInConstantTime(new TextEncoder().encode(a), new TextEncoder().encode(b));
}

/**
 * Reads every byte of both, whatever they hold, and decides only at the end:
 * no early exit at the first difference. (Exported for the test that checks
 * exactly that, by recording which bytes are read.)
 */
export function bytesEqualInConstantTime(x: ArrayLike<number>, y: ArrayLike<number>): boolean {
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
