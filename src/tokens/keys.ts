import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import type { SigningAlgorithm } from '../config/compile.js';
import type { NewKey, Store, StoredKey } from '../store/types.js';
import type { SigningKey } from '../jws/backend.js';

export type { SigningKey } from '../jws/backend.js';

export async function generateSigningKey(alg: SigningAlgorithm, now: number): Promise<NewKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta = { kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    privateJwk: { ...(await exportJWK(privateKey)), ...meta },
    publicJwk: { ...publicJwk, ...meta },
    createdAt: now,
  };
}

/** Makes a new current key; the old one stays in the JWKS while tokens it signed live. */
export async function rotateKey(store: Store, alg: SigningAlgorithm, now: number): Promise<NewKey> {
  const key = await generateSigningKey(alg, now);
  await store.addKey(key, now);
  return key;
}

/**
 * What the core needs of its signing keys: the minter, the JWKS route, the
 * readiness probe and the verification of our own tokens call nothing else.
 * The Node entry brings a `KeyRing` (keys in the store, rotated by the CLI),
 * the Workers entry a `SecretKeys` (keys in the SIGNING_KEY secret).
 */
export interface SigningKeys {
  /** The key new tokens are signed with. */
  signingKey(): Promise<SigningKey>;
  /** The public JWK of one of our keys, current or retired, for checking our own tokens. */
  verifyingJwk(kid: string): Promise<JWK | undefined>;
  /** The public keys resource servers may meet in tokens alive at `now` (Unix seconds). */
  jwks(now: number): Promise<JSONWebKeySet>;
  /** Whether a key to sign with is loaded (/readyz). */
  readonly ready: boolean;
}

/**
 * The signing keys as the running app sees them: the current key for signing,
 * every stored key for verifying our own tokens, and the public JWKS. It is
 * reloaded from the store at most every `refreshSeconds`, so a `keys rotate`
 * run from the CLI reaches a running server without a restart.
 */
export class KeyRing implements SigningKeys {
  private current: SigningKey | undefined;
  /** Public JWKs by kid, the same object across reloads: the crypto backends cache imports per JWK. */
  private verifiers = new Map<string, JWK>();
  private records: StoredKey[] = [];
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: { algorithm: SigningAlgorithm; refreshSeconds?: number },
  ) {}

  /**
   * Loads the keys, creating the first one on a fresh database, and rotating
   * when the configured algorithm differs from the current key's.
   */
  async init(): Promise<void> {
    let keys = await this.store.listKeys();
    const current = keys.find((k) => k.retiredAt === null);
    if (!current || current.alg !== this.options.algorithm) {
      const now = nowSeconds(this.clock);
      await this.store.addKey(
        await generateSigningKey(this.options.algorithm, now),
        current ? now : undefined,
      );
      keys = await this.store.listKeys();
    }
    await this.apply(keys);
  }

  /** Reloads from the store now. */
  async reload(): Promise<void> {
    await this.apply(await this.store.listKeys());
  }

  private async refreshIfStale(): Promise<void> {
    const age = (this.clock.now() - this.loadedAt) / 1000;
    if (age < (this.options.refreshSeconds ?? 30)) return;
    this.loading ??= this.reload().finally(() => (this.loading = undefined));
    await this.loading;
  }

  private async apply(keys: StoredKey[]): Promise<void> {
    const verifiers = new Map<string, JWK>();
    for (const k of keys) verifiers.set(k.kid, this.verifiers.get(k.kid) ?? k.publicJwk);
    const cur = keys.find((k) => k.retiredAt === null);
    if (cur && cur.kid !== this.current?.kid) {
      this.current = {
        kid: cur.kid,
        alg: cur.alg,
        key: (await importJWK(cur.privateJwk, cur.alg)) as CryptoKey,
        privateJwk: cur.privateJwk,
      };
    }
    this.verifiers = verifiers;
    this.records = keys;
    this.loadedAt = this.clock.now();
  }

  async signingKey(): Promise<SigningKey> {
    await this.refreshIfStale();
    if (!this.current) throw new Error('no current signing key: run `tokenbroker keys rotate`');
    return this.current;
  }

  /** The public JWK of one of our keys, current or retired, for checking our own tokens. */
  async verifyingJwk(kid: string): Promise<JWK | undefined> {
    await this.refreshIfStale();
    return this.verifiers.get(kid);
  }

  /** The current key and every retired key that signed a token still alive at `now`. */
  async jwks(now: number): Promise<JSONWebKeySet> {
    await this.refreshIfStale();
    const live = this.records.filter(
      (k) => k.retiredAt === null || (k.lastTokenExpiry !== null && k.lastTokenExpiry > now),
    );
    return { keys: live.map((k) => k.publicJwk as JWK) };
  }

  get ready(): boolean {
    return this.current !== undefined;
  }
}
