import {
  calculateJwkThumbprint,
  CompactSign,
  compactVerify,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import type { SigningAlgorithm } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import { keyFitsAlgorithm } from '../jws/algorithms.js';
import type { SigningKey, SigningKeys } from './keys.js';

/** The algorithms our own tokens are verified with (tokens/verify.ts): a key for another cannot sign. */
const OUR_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'EdDSA', 'RS256'];

/** The public members of each key type (RFC 7518 §6), the only ones published. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
  RSA: ['kty', 'n', 'e'],
};

/** Bounds the secret's size: a few RSA keys take about 10 KiB. */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * Signing keys given as private JWKs rather than kept in the store: the
 * Workers entry reads them from its SIGNING_KEY secret (one JWK, or a JSON
 * array of them for rotation). The first signs; all are published in the
 * JWKS and verify our own tokens, so a key moved to the second place keeps
 * its tokens valid until they expire. Nothing is generated or rotated here:
 * the operator rotates by editing the secret.
 */
export class SecretKeys implements SigningKeys {
  private readonly byKid: ReadonlyMap<string, JWK>;

  private constructor(
    private readonly current: SigningKey,
    private readonly published: readonly JWK[],
  ) {
    this.byKid = new Map(published.map((k) => [k.kid!, k]));
  }

  /**
   * Reads the secret's text. Every refusal is a BrokerError `unavailable`
   * whose message names the key (`SIGNING_KEY[1]`) and what to fix, and never
   * quotes the secret: a parser's own message can echo the text it choked on.
   */
  static async parse(text: string | undefined, name = 'SIGNING_KEY'): Promise<SecretKeys> {
    if (text === undefined || text.trim() === '') {
      throw refuse(
        `${name} is not set: put a private JWK in it with \`wrangler secret put ${name}\``,
      );
    }
    if (text.length > MAX_SECRET_BYTES) {
      throw refuse(`${name} is longer than 64 KiB: it should hold a few private JWKs, no more`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw refuse(
        `${name} is not JSON: it must be a private JWK ({"kty": ...}) or a JSON array of them; set it again with \`wrangler secret put ${name}\``,
      );
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    if (list.length === 0) {
      throw refuse(`${name} is an empty array: put at least one private JWK in it`);
    }
    const keys: SigningKey[] = [];
    for (const [i, entry] of list.entries()) {
      const where = Array.isArray(parsed) ? `${name}[${i}]` : name;
      const key = await readKey(entry, where);
      if (keys.some((k) => k.kid === key.kid)) {
        throw refuse(
          `${where} has kid ${key.kid}, as an earlier key does: give each key its own kid`,
        );
      }
      keys.push(key);
    }
    return new SecretKeys(
      keys[0]!,
      keys.map((k) => publicPart(k.privateJwk)),
    );
  }

  signingKey(): Promise<SigningKey> {
    return Promise.resolve(this.current);
  }

  verifyingJwk(kid: string): Promise<JWK | undefined> {
    return Promise.resolve(this.byKid.get(kid));
  }

  /** Every key of the secret: which of them signed tokens still alive is the operator's to know. */
  jwks(): Promise<JSONWebKeySet> {
    return Promise.resolve({ keys: [...this.published] });
  }

  get ready(): boolean {
    return true;
  }
}

const refuse = (message: string) => new BrokerError('unavailable', message);

async function readKey(entry: unknown, where: string): Promise<SigningKey> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw refuse(`${where} is not a JWK: expected a JSON object such as {"kty": "EC", ...}`);
  }
  const jwk = entry as JWK;
  if (jwk.kty === 'oct') {
    throw refuse(
      `${where} is a symmetric (oct) key: tokens are signed with a private EC, OKP or RSA key, whose public half resource servers fetch from /jwks`,
    );
  }
  if (typeof jwk.kty !== 'string' || PUBLIC_MEMBERS[jwk.kty] === undefined) {
    throw refuse(`${where} has no usable kty: expected "EC", "OKP" or "RSA"`);
  }
  if (typeof jwk.d !== 'string') {
    throw refuse(
      `${where} is a public key (it has no "d"): put the private JWK in the secret; the broker publishes its public half`,
    );
  }
  const alg = algorithmOf(jwk, where);
  const kid =
    typeof jwk.kid === 'string' && jwk.kid !== ''
      ? jwk.kid
      : await calculateJwkThumbprint(jwk as JWK, 'sha256');
  const privateJwk: JWK = { ...jwk, kid, alg, use: 'sig' };
  delete privateJwk.key_ops;
  const pub = publicPart(privateJwk);
  if (!keyFitsAlgorithm(pub, alg)) {
    throw refuse(
      `${where} cannot sign ${alg}: ${jwk.kty === 'RSA' ? 'an RSA key needs 2048 to 8192 bits' : `its curve ${String(jwk.crv)} does not fit`}, and "use" must be "sig" if present`,
    );
  }
  let key: CryptoKey;
  try {
    key = (await importJWK(privateJwk, alg)) as CryptoKey;
  } catch {
    throw refuse(`${where} is not a valid ${alg} private key: export it again as a JWK`);
  }
  await checkPair(key, pub, alg, where);
  return { kid, alg, key, privateJwk };
}

/** The JWK's `alg`, or the one its type and curve sign with; one our verifier accepts. */
function algorithmOf(jwk: JWK, where: string): SigningAlgorithm {
  if (jwk.alg !== undefined) {
    const alg = jwk.alg === 'Ed25519' ? 'EdDSA' : jwk.alg;
    if (!(OUR_ALGORITHMS as readonly string[]).includes(alg)) {
      throw refuse(
        `${where} has alg ${JSON.stringify(jwk.alg)}: the broker signs with ${OUR_ALGORITHMS.join(', ')} only; use a key for one of those`,
      );
    }
    return alg as SigningAlgorithm;
  }
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'RSA') return 'RS256';
  throw refuse(
    `${where} is a ${jwk.kty} key on curve ${JSON.stringify(jwk.crv ?? null)}: the broker signs with ES256 (EC P-256), EdDSA (OKP Ed25519) or RS256 (RSA) keys`,
  );
}

function publicPart(jwk: JWK): JWK {
  const members = [...PUBLIC_MEMBERS[jwk.kty!]!, 'kid', 'alg', 'use'];
  return Object.fromEntries(
    members.flatMap((m) => {
      const v = (jwk as Record<string, unknown>)[m];
      return v === undefined ? [] : [[m, v]];
    }),
  ) as JWK;
}

/**
 * Signs once with the private key and verifies with the public half it
 * publishes: a JWK whose `x`/`y`/`n` belong to another key would otherwise
 * sign tokens that nobody can verify.
 */
async function checkPair(key: CryptoKey, pub: JWK, alg: string, where: string): Promise<void> {
  const probe = await new CompactSign(new TextEncoder().encode('tokenbroker key check'))
    .setProtectedHeader({ alg })
    .sign(key);
  try {
    await compactVerify(probe, await importJWK(pub, alg));
  } catch {
    throw refuse(
      `${where}'s public members do not match its private "d": export the key pair again as one JWK`,
    );
  }
}
