import {
  constants,
  createPrivateKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { exportJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webCryptoBackend } from '../../src/jws/backend.js';
import { nodeCrypto } from '../../src/node/crypto.js';
import { startCi, type CiSetup } from '../helpers/ci.js';
import { githubClaims } from '../helpers/oidc-issuer.js';

/**
 * Attacks on the broker's own JWS handling (compact parsing, key choice,
 * signature encodings), with tokens forged byte by byte where a JWT library
 * would refuse to make them.
 */
let ci: CiSetup;
afterEach(() => ci.close());

const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');

function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signer: (input: Buffer) => Buffer,
): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  return `${input}.${b64(signer(Buffer.from(input)))}`;
}

async function issuerPrivateKey(): Promise<KeyObject> {
  const jwk = await exportJWK(ci.github.signingKey().privateKey);
  return createPrivateKey({ key: jwk as never, format: 'jwk' });
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(ci.broker.clock.now() / 1000);
  return {
    ...githubClaims(),
    iss: ci.github.url,
    iat: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    ...extra,
  };
}

async function refused(token: string, description: string | RegExp, issuedBefore = 0) {
  const res = await ci.exchange(token);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(body.error).toBe('invalid_grant');
  if (typeof description === 'string') expect(body.error_description).toBe(description);
  else expect(body.error_description).toMatch(description);
  expect(await ci.broker.store.listTokens({})).toHaveLength(issuedBefore);
}

const rs256 = (key: KeyObject) => (input: Buffer) => sign('sha256', input, key);

describe.each([
  ['node:crypto', nodeCrypto()],
  ['WebCrypto', webCryptoBackend],
] as const)('forged JWS structures, signatures checked by %s', (_name, backend) => {
  beforeEach(async () => {
    ci = await startCi({ crypto: backend });
  });

  it('accepts a token forged by hand with the issuer’s real key, so the refusals below are meaningful', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const res = await ci.exchange(forge({ alg: 'RS256', kid }, claims(), rs256(key)));
    expect(res.status).toBe(200);
  });

  it('refuses PS256 made with a key the issuer publishes for RS256 only', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const pss = (input: Buffer) =>
      sign('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    await refused(
      forge({ alg: 'PS256', kid }, claims(), pss),
      /^CI token is signed by a key that github does not publish/,
    );
  });

  it('refuses a header with critical extensions it does not implement', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    await refused(
      forge({ alg: 'RS256', kid, crit: ['b64'], b64: false }, claims(), rs256(key)),
      'CI token header marks ["b64"] as critical, which this broker does not implement: refused',
    );
  });

  it('refuses an ES256 signature in DER encoding instead of JWS’s r||s', async () => {
    await ci.github.rotate('ES256');
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const der = (input: Buffer) => sign('sha256', input, { key, dsaEncoding: 'der' });
    const p1363 = (input: Buffer) => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
    await refused(
      forge({ alg: 'ES256', kid }, claims(), der),
      /^CI token signature does not verify with github's published keys/,
    );
    expect((await ci.exchange(forge({ alg: 'ES256', kid }, claims(), p1363))).status).toBe(200);
  });

  it('refuses segments in standard base64, with padding, or with stray characters', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const good = forge({ alg: 'RS256', kid }, claims(), rs256(key));
    const [h, p, s] = good.split('.') as [string, string, string];
    const standard = Buffer.from(s, 'base64url').toString('base64');
    for (const token of [
      `${h}.${p}.${standard}`,
      `${h}.${p}.${s}==`,
      `${h}.${p}.${s.slice(0, 10)}!${s.slice(10)}`,
      `${h} .${p}.${s}`,
      `${h}.${p}.${s}.`,
    ]) {
      await refused(token, "subject_token is not a JWT: send the CI provider's OIDC token itself");
    }
  });

  it('refuses a header or payload that is not a UTF-8 JSON object', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const sig = b64(rs256(key)(Buffer.from('x')));
    const header = b64(JSON.stringify({ alg: 'RS256', kid }));
    for (const payload of [
      b64('[1,2]'),
      b64('"text"'),
      b64(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), // {"\xff":1}
      b64('{"iss": '),
    ]) {
      await refused(
        `${header}.${payload}.${sig}`,
        "subject_token is not a JWT: send the CI provider's OIDC token itself",
      );
    }
  });

  it('refuses a token signed by a published RSA key shorter than 2048 bits', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' };
    ci.github.jwksBody = { keys: [jwk] };
    await refused(
      forge({ alg: 'RS256', kid: 'weak' }, claims(), rs256(weak.privateKey)),
      /^CI token is signed by a key that github does not publish \(kid "weak"\)/,
    );
  });

  it('does not verify with a published key marked for encryption', async () => {
    const k = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...k.publicKey.export({ format: 'jwk' }), kid: 'enc', use: 'enc' };
    ci.github.jwksBody = { keys: [jwk] };
    await refused(
      forge({ alg: 'RS256', kid: 'enc' }, claims(), rs256(k.privateKey)),
      /^CI token is signed by a key that github does not publish \(kid "enc"\)/,
    );
  });

  it('refuses a token without kid when several published keys fit its algorithm', async () => {
    const key = await issuerPrivateKey();
    // One RSA key and one EC key: only one fits RS256, so no kid is fine.
    expect((await ci.exchange(forge({ alg: 'RS256' }, claims(), rs256(key)))).status).toBe(200);
    await ci.github.rotate('RS256');
    ci.broker.clock.advance(61); // past the unknown-key refetch interval
    await ci.exchange(await ci.github.github()); // the broker learns the new key
    await refused(
      forge({ alg: 'RS256' }, claims(), rs256(key)),
      'CI token names no kid and github publishes several keys: refused',
      2,
    );
  });

  it.each([
    ['exp as a string', { exp: '9999999999' }],
    ['iat as a string', { iat: '0' }],
    ['nbf as an object', { nbf: {} }],
  ])('refuses a time claim of the wrong type: %s', async (_n, extra) => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const claim = Object.keys(extra)[0];
    await refused(
      forge({ alg: 'RS256', kid }, claims(extra), rs256(key)),
      `CI token claim ${claim} is not a number of seconds: send the CI provider's OIDC token unchanged`,
    );
  });

  it.each(['constructor', '__proto__', 'toString'])(
    'refuses the inherited property name %j as an algorithm',
    async (alg) => {
      const key = await issuerPrivateKey();
      await refused(
        forge({ alg, kid: 'constructor' }, claims(), rs256(key)),
        `CI token algorithm "${alg}" is not accepted: CI tokens must be signed with an asymmetric key (RS256, ES256, ...)`,
      );
    },
  );
});
