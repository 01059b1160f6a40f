import { SignJWT, type JWTPayload } from 'jose';
import { sha256Hex } from './crypto.js';
import type { SigningKey } from './keys.js';

export interface SignedToken {
  token: string;
  /** Hex SHA-256 of the token: what the audit log keeps instead of it. */
  sha256: string;
}

/**
 * Signs our own tokens. The core's signer uses WebCrypto through jose, so it
 * runs on Workers; the Node entry injects one on node:crypto, which skips
 * WebCrypto's per-operation thread-pool hop on the hot path.
 */
export interface TokenSigner {
  sign(
    header: { alg: string; kid: string; typ: string },
    claims: JWTPayload,
    key: SigningKey,
  ): Promise<SignedToken>;
}

export const webCryptoSigner: TokenSigner = {
  async sign(header, claims, key) {
    const token = await new SignJWT(claims).setProtectedHeader(header).sign(key.key);
    return { token, sha256: await sha256Hex(token) };
  },
};
