import {
  constants,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { exportJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import type { Provider } from '../../src/config/compile.js';
import { BrokerError } from '../../src/shared/errors.js';
import { webCryptoBackend, type CryptoBackend } from '../../src/jws/backend.js';
import { silentLogger } from '../../src/shared/log.js';
import { nodeCrypto } from '../../src/node/crypto.js';
import { CiVerifier } from '../../src/oidc/verify.js';
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

/** EMSA-PKCS1-v1_5 of SHA-256(input) for a 2048-bit modulus: the RS256 "signature" when e = 1. */
const pkcs1Encoded = (input: Buffer) => {
  const t = Buffer.concat([
    Buffer.from('3031300d060960864801650304020105000420', 'hex'),
    createHash('sha256').update(input).digest(),
  ]);
  return Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.alloc(256 - t.length - 3, 0xff),
    Buffer.from([0]),
    t,
  ]);
};

/** `[[[…]]]`, nested `depth` deep: JSON.parse takes it, JSON.stringify overflows the stack. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** A token of raw JSON segments and a dummy signature, at most 16 KiB. */
const rawToken = (header: string, payload: string) => `${b64(header)}.${b64(payload)}.AAAA`;

const INVALID = "subject_token is not a JWT: send the CI provider's OIDC token itself";

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
  it('refuses a signature segment whose unused trailing bits are set, so one signature has one spelling', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const good = forge({ alg: 'RS256', kid }, claims(), rs256(key));
    // 256 signature bytes end in a 2-character group whose last character carries 4 unused bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(good.at(-1)!);
    expect(last & 0b1111).toBe(0);
    const twin = `${good.slice(0, -1)}${alphabet[last | 1]}`;
    expect(Buffer.from(twin.split('.')[2]!, 'base64url')).toEqual(
      Buffer.from(good.split('.')[2]!, 'base64url'),
    );
    await refused(twin, INVALID);
    expect((await ci.exchange(good)).status).toBe(200);
  });

  it('refuses a 1024-bit RSA key whose modulus is padded to 2048 bits with leading zero bytes', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = weak.publicKey.export({ format: 'jwk' });
    const n = b64(Buffer.concat([Buffer.alloc(128), Buffer.from(jwk.n!, 'base64url')]));
    ci.github.jwksBody = { keys: [{ ...jwk, n, kid: 'padded', alg: 'RS256' }] };
    await refused(
      forge({ alg: 'RS256', kid: 'padded' }, claims(), rs256(weak.privateKey)),
      /^CI token is signed by a key that github does not publish \(kid "padded"\)/,
    );
  });

  it('refuses a published RSA key with exponent 1, with which anyone can make a “signature”', async () => {
    const { n } = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'jwk',
    });
    ci.github.jwksBody = { keys: [{ kty: 'RSA', n, e: 'AQ', kid: 'e1', alg: 'RS256' }] };
    await refused(
      forge({ alg: 'RS256', kid: 'e1' }, claims(), pkcs1Encoded),
      /^CI token is signed by a key that github does not publish \(kid "e1"\)/,
    );
  });

  it('does not use RSA keys with an even, or huge, public exponent, or a modulus over 8192 bits', async () => {
    const { n } = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'jwk',
    });
    const huge = randomBytes(255); // verifying with it costs a private-key operation
    huge[254]! |= 1;
    const big = randomBytes(2048); // 16384 bits: each verify costs about a millisecond
    big[0]! |= 0x80;
    big[2047]! |= 1;
    ci.github.jwksBody = {
      keys: [
        { kty: 'RSA', n, e: 'AAEAAg', kid: 'k' }, // 65538
        { kty: 'RSA', n, e: b64(huge), kid: 'k' },
        { kty: 'RSA', n: b64(big), e: 'AQAB', kid: 'k' },
      ],
    };
    const key = await issuerPrivateKey();
    await refused(
      forge({ alg: 'RS256', kid: 'k' }, claims(), rs256(key)),
      /^CI token is signed by a key that github does not publish \(kid "k"\)/,
    );
  });

  it('does not verify with a published key that carries its private members, and warns', async () => {
    const warnings: string[] = [];
    await ci.close();
    ci = await startCi({
      crypto: backend,
      logger: { info() {}, error() {}, warn: (msg) => warnings.push(msg) },
    });
    const leaked = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...leaked.privateKey.export({ format: 'jwk' }), kid: 'leaked', alg: 'RS256' };
    ci.github.jwksBody = { keys: [jwk] };
    await refused(
      forge({ alg: 'RS256', kid: 'leaked' }, claims(), rs256(leaked.privateKey)),
      /^CI token is signed by a key that github does not publish \(kid "leaked"\)/,
    );
    expect(warnings).toContain('JWKS publishes private key material; those keys are never used');
  });

  it('answers 400, not 500, when alg, crit, kid or iss is JSON nested too deeply to print', async () => {
    const iss = JSON.stringify(ci.github.url);
    const deep = nested(6000);
    for (const [token, description] of [
      [rawToken(`{"alg":${deep}}`, '{}'), /^CI token algorithm \[…\] is not accepted: /],
      [
        rawToken(`{"alg":"RS256","crit":${deep}}`, '{}'),
        /^CI token header marks \[…\] as critical/,
      ],
      [rawToken('{"alg":"RS256"}', `{"iss":${deep}}`), /^CI token issuer \[…\] is not configured/],
      [
        rawToken(`{"alg":"RS256","kid":${deep}}`, `{"iss":${iss}}`),
        /^CI token kid is not a string/,
      ],
    ] as const) {
      expect(token.length).toBeLessThanOrEqual(16 * 1024);
      await refused(token, description);
    }
  });

  it('refuses a kid that is not a string, even when a published key has the same kid', async () => {
    const k = generateKeyPairSync('rsa', { modulusLength: 2048 });
    ci.github.jwksBody = { keys: [{ ...k.publicKey.export({ format: 'jwk' }), kid: 7 }] };
    await refused(
      forge({ alg: 'RS256', kid: 7 }, claims(), rs256(k.privateKey)),
      "CI token kid is not a string (RFC 7515 section 4.1.4): send the CI provider's OIDC token unchanged",
    );
  });

  it('refuses an aud list with members that are not strings, which would pass strict_audience', async () => {
    await ci.close();
    ci = await startCi({ crypto: backend, providers: { github: { strict_audience: true } } });
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    for (const aud of [['https://broker.test', 42], ['https://broker.test', null], { 0: 'x' }]) {
      await refused(
        forge({ alg: 'RS256', kid }, claims({ aud }), rs256(key)),
        "CI token aud claim is not a string or a list of strings: send the CI provider's OIDC token unchanged",
      );
    }
    const aud = ['https://broker.test'];
    expect(
      (await ci.exchange(forge({ alg: 'RS256', kid }, claims({ aud }), rs256(key)))).status,
    ).toBe(200);
  });

  it('refuses exp, iat or nbf too large for a double, and accepts fractional seconds', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const header = b64(JSON.stringify({ alg: 'RS256', kid }));
    for (const claim of ['exp', 'iat', 'nbf']) {
      const json = JSON.stringify(claims()).replace(/}$/, `,"${claim}":1e400}`);
      const input = `${header}.${b64(json)}`;
      await refused(
        `${input}.${b64(rs256(key)(Buffer.from(input)))}`,
        `CI token claim ${claim} is not a number of seconds: send the CI provider's OIDC token unchanged`,
      );
    }
    const now = ci.broker.clock.now() / 1000;
    const fractional = claims({ iat: now - 0.5, nbf: now - 0.25, exp: now + 299.75 });
    expect((await ci.exchange(forge({ alg: 'RS256', kid }, fractional, rs256(key)))).status).toBe(
      200,
    );
  });

  it('accepts an issuer-signed exp far in the future without a 500, and still refuses its replay', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const token = forge({ alg: 'RS256', kid }, claims({ exp: 1e300 }), rs256(key));
    const res = await ci.exchange(token);
    expect(res.status).toBe(200);
    expect((await res.json()).expires_in).toBe(900); // our lifetime, not the CI token's
    await refused(token, /^this CI token was already exchanged/, 1);
  });

  it('reads "__proto__" in a header or payload as an ordinary member, never as the prototype', async () => {
    const key = await issuerPrivateKey();
    const { kid } = ci.github.signingKey();
    const sign = (header: string, payload: string) => {
      const input = `${b64(header)}.${b64(payload)}`;
      return `${input}.${b64(rs256(key)(Buffer.from(input)))}`;
    };
    await refused(
      sign(`{"__proto__":{"alg":"RS256","kid":${JSON.stringify(kid)}}}`, JSON.stringify(claims())),
      /^CI token algorithm null is not accepted/,
    );
    const { iss, ...rest } = claims();
    await refused(
      sign(
        JSON.stringify({ alg: 'RS256', kid }),
        `{"__proto__":{"iss":${JSON.stringify(iss)}},${JSON.stringify(rest).slice(1)}`,
      ),
      /^CI token issuer null is not configured/,
    );
  });

  it('never fetches keys from a plain-http jwks_uri that a discovery document names', async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const issuer = 'https://ci.example.com';
    const fetched: string[] = [];
    const fakeFetch = (async (url: string) => {
      fetched.push(url);
      const body =
        url === `${issuer}/.well-known/openid-configuration`
          ? { issuer, jwks_uri: 'http://keys.example.com/jwks' }
          : { keys: [{ ...attacker.publicKey.export({ format: 'jwk' }), kid: 'a' }] };
      return Response.json(body);
    }) as typeof fetch;
    const verifier = new CiVerifier([provider(issuer)], {
      fetch: fakeFetch,
      clock: new ManualClock(Date.now()),
      logger: silentLogger,
      crypto: backend as CryptoBackend,
    });
    const token = forge(
      { alg: 'RS256', kid: 'a' },
      { ...claims(), iss: issuer, iat: nowS(), exp: nowS() + 300 },
      rs256(attacker.privateKey),
    );
    const error = await verifier.verify(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).message).toMatch(
      /^the discovery document of CI provider ci names a jwks_uri over plain http/,
    );
    expect(fetched).toEqual([`${issuer}/.well-known/openid-configuration`]);
  });
});

const nowS = () => Math.floor(Date.now() / 1000);

function provider(issuer: string): Provider {
  return {
    name: 'ci',
    issuer,
    kind: 'generic',
    audiences: ['https://broker.test'],
    jwksUri: undefined,
    strictAudience: false,
    allowMissingJti: false,
    allowPullRequestTarget: false,
    leewaySeconds: 60,
  };
}
