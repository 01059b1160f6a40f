import { createHash, createPrivateKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { TokenSigner } from '../tokens/signer.js';

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/**
 * The Node entry's signer: compact JWS with node:crypto, synchronous and in
 * this thread. ES256 signatures are IEEE P1363 (r||s) as JWS requires.
 */
export function nodeSigner(): TokenSigner {
  const keys = new Map<string, KeyObject>();
  return {
    async sign(header, claims, key) {
      let ko = keys.get(key.kid);
      if (!ko) {
        ko = createPrivateKey({ key: key.privateJwk as JsonWebKey, format: 'jwk' });
        keys.set(key.kid, ko);
      }
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const data = Buffer.from(input);
      const signature =
        header.alg === 'ES256'
          ? sign('sha256', data, { key: ko, dsaEncoding: 'ieee-p1363' })
          : header.alg === 'RS256'
            ? sign('sha256', data, ko)
            : header.alg === 'EdDSA'
              ? sign(null, data, ko)
              : undefined;
      if (!signature) throw new Error(`no node:crypto signer for ${header.alg}`);
      const token = `${input}.${b64url(signature)}`;
      return { token, sha256: createHash('sha256').update(token).digest('hex') };
    },
  };
}
