import { SignJWT, base64url, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mintFor, startBroker, tempDir, testConfig, type TestBroker } from '../helpers/broker.js';
import { closedPortUrl, runCli } from '../helpers/cli.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import { fakeHost, homeIn, listeningBroker, storeMinted, type Home } from './terminal-setup.js';

// `tokenbroker token inspect` against a real broker listening on loopback: its
// discovery document and /jwks over HTTP, tokens signed by its own keys, a
// second broker's tokens, and CI tokens from a real OIDC issuer.

let real: Awaited<ReturnType<typeof listeningBroker>>;
let other: TestBroker;
let ci: TestIssuer;
let home: Home;
let cleanup: () => void;
const clock = { now: 0 };

beforeAll(async () => {
  real = await listeningBroker();
  // On the same clock as the real broker: its tokens differ in key and issuer only, never in
  // time (started later on a busy machine, its own clock would make them "issued in the future").
  other = await startBroker({
    config: await testConfig({ issuer: 'https://other-broker.test' }),
    clock: real.broker.clock,
  });
  ci = await startTestIssuer();
});
afterAll(async () => {
  await real.close();
  await other.cleanup();
  await ci.close();
});
beforeEach(() => {
  clock.now = real.broker.clock.now();
  const t = tempDir();
  cleanup = t.cleanup;
  home = homeIn(t.dir);
});
afterEach(() => cleanup());

const inspect = (args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}) =>
  runCli(['token', 'inspect', ...args], {
    cwd: '.',
    env: { ...home.env, ...opts.env },
    stdin: opts.stdin,
    host: fakeHost(clock),
  });

const minted = async (broker = real.broker) =>
  (await mintFor(broker, ['read:models/acme/*'])).token;
const brokerKid = async () => decodeProtectedHeader(await minted()).kid as string;
const lines = (text: string) => text.split('\n');

/** The token with its payload replaced, the original signature kept. */
function withPayload(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [h, , s] = token.split('.');
  const claims = decodeJwt(token) as Record<string, unknown>;
  change(claims);
  return `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`;
}

async function signedByStranger(token: string, header: Record<string, unknown>): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT(decodeJwt(token))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header })
    .sign(privateKey);
}

describe('tokenbroker token inspect, a token of the named broker', () => {
  it('verifies a token the broker minted against its JWKS, and shows its header and claims with dates', async () => {
    const token = await minted();
    const kid = decodeProtectedHeader(token).kid as string;
    const r = await inspect([token, '--broker', real.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.slice(0, 5)).toEqual([
      'Header',
      '  alg          "ES256"',
      `  kid          "${kid}"`,
      '  typ          "at+jwt"',
      '',
    ]);
    const exp = new Date(clock.now + 900_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(out).toContain(`  iss          "${real.url}"`);
    expect(out).toContain('  sub          "user:alice@example.com"');
    expect(out).toContain('  scope        "read:models/acme/*"');
    expect(out.find((l) => l.startsWith('  exp '))).toMatch(
      new RegExp(`^  exp          \\d+  ${exp}, in 15m$`),
    );
    expect(out.find((l) => l.startsWith('  iat '))).toMatch(/, now$/);
    expect(out).toContain(
      `Checks against the broker at ${real.url} (issuer "${real.url}", keys from ${real.url}/jwks)`,
    );
    expect(out).toContain(`  ok   signature  ES256, by the broker's key "${kid}"`);
    expect(out).toContain("  ok   iss        the broker's issuer");
    expect(out).toContain('  ok   typ        "at+jwt"');
    expect(out.filter((l) => l.startsWith('  FAIL'))).toEqual([]);
    expect(out).toContain(
      `Result: valid: a token of the broker at ${real.url}, signed by its key, not expired on this machine's clock`,
    );
  });

  it("inspects the stored login when no token is given, against that login's broker", async () => {
    const token = await storeMinted(home, real.url, real.broker);
    const r = await inspect([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`  jti          "${decodeJwt(token).jti as string}"`);
    expect(r.stdout).toContain('Result: valid: ');
  });

  it('reads the token from stdin with -, and takes the broker from TOKENBROKER_URL', async () => {
    const token = await minted();
    const r = await inspect(['-'], { stdin: `${token}\n`, env: { TOKENBROKER_URL: real.url } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Result: valid: ');
  });

  it('takes --broker before the subcommand as well', async () => {
    const r = await runCli(['token', '--broker', real.url, 'inspect', await minted()], {
      cwd: '.',
      env: home.env,
      host: fakeHost(clock),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Checks against the broker at ${real.url} `);
  });

  it('fails an expired token on the local clock, says when it expired and what to do, and exits 1', async () => {
    const token = await minted();
    clock.now += 16 * 60_000;
    const r = await inspect([token, '--broker', real.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\n {2}FAIL exp {8}expired at \S+Z, 1m ago: get a fresh token/);
    expect(r.stdout).toContain('  ok   signature  ');
    expect(r.stderr).toMatch(
      /^tokenbroker: not a valid token of \S+: expired at \S+Z, 1m ago: get a fresh token with `tokenbroker token`/,
    );
  });

  it('fails a token not valid yet (nbf) and says to check the clock', async () => {
    const token = await minted();
    clock.now -= 120_000;
    const r = await inspect([token, '--broker', real.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      / {2}FAIL nbf {8}not valid before \S+Z, in 2m: check this machine's clock/,
    );
  });
});

describe('tokenbroker token inspect, forged and foreign tokens', () => {
  it.each([
    [
      'its payload altered (a wider scope), the signature kept',
      async () => withPayload(await minted(), (c) => (c.scope = 'write:models/*')),
      [/FAIL signature {2}does not match the broker's key "[^"]+": the token was altered/],
    ],
    [
      "signed by another key under the broker's kid",
      async () => signedByStranger(await minted(), { kid: await brokerKid() }),
      [/FAIL signature {2}does not match the broker's key/],
    ],
    [
      "signed with HS256 under the broker's kid (the public key as an HMAC secret)",
      async () => {
        const t = await minted();
        return new SignJWT(decodeJwt(t))
          .setProtectedHeader({ alg: 'HS256', kid: await brokerKid(), typ: 'at+jwt' })
          .sign(new TextEncoder().encode('x'.repeat(32)));
      },
      [/FAIL signature {2}alg "HS256" is not one the broker signs with \(ES256, EdDSA, RS256\)/],
    ],
    [
      "signed with RS256 under the broker's EC key's kid",
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT(decodeJwt(await minted()))
          .setProtectedHeader({ alg: 'RS256', kid: await brokerKid(), typ: 'at+jwt' })
          .sign(privateKey);
      },
      [
        /FAIL signature {2}cannot be checked with the broker's key "[^"]+": .+: the token does not fit/,
      ],
    ],
    [
      'unsigned (alg none)',
      async () => {
        const [, p] = (await minted()).split('.');
        return `${base64url.encode('{"alg":"none","typ":"at+jwt"}')}.${p}.`;
      },
      [/FAIL signature {2}alg "none" is not one/],
    ],
    [
      'with no kid',
      async () => signedByStranger(await minted(), {}),
      [/FAIL signature {2}the header names no key \(kid\)/],
    ],
    [
      'minted by a second broker (another key, another issuer)',
      async () => minted(other),
      [
        /FAIL signature {2}no key "[^"]+" in the broker's JWKS \(http:\/\/127\.0\.0\.1:\d+\/jwks\): the token was not signed by this broker/,
        /FAIL iss {8}iss "https:\/\/other-broker\.test" is not this broker's issuer "http:\/\/127\.0\.0\.1:\d+": the token was issued by someone else/,
      ],
    ],
  ])(
    'fails a token %s, saying which check and what to do, and exits 1',
    async (_n, make, fails) => {
      const r = await inspect([await make(), '--broker', real.url]);
      expect(r.code).toBe(1);
      const failed = lines(r.stdout).filter((l) => l.startsWith('  FAIL'));
      expect(failed).toHaveLength(fails.length);
      fails.forEach((f, i) => expect(failed[i]).toMatch(f));
      expect(r.stdout).toMatch(/\nResult: NOT valid: /);
      expect(r.stdout).not.toContain('Result: valid');
      expect(r.stderr).toMatch(
        /^tokenbroker: not a valid token of http:\/\/127\.0\.0\.1:\d+: .+: .+\n$/,
      );
    },
  );

  it("verifies against the named broker, never the keys of the URL in the token's iss", async () => {
    // A forger's token names the forger's own issuer, whose keys sign it: only
    // the named broker's keys count, so it fails, and the forger's JWKS is never asked.
    const forged = await ci.mint(
      { iss: ci.url, sub: 'user:alice@example.com' },
      {
        header: { typ: 'at+jwt', jku: `${ci.url}/.well-known/jwks` },
      },
    );
    const before = ci.jwksFetches;
    const r = await inspect([forged, '--broker', real.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  jku          "${ci.url}/.well-known/jwks"`);
    expect(r.stdout).toMatch(/FAIL signature {2}no key /);
    expect(r.stdout).toContain(
      `FAIL iss        iss "${ci.url}" is not this broker's issuer "${real.url}"`,
    );
    expect(ci.jwksFetches).toBe(before);
  });
});

describe('tokenbroker token inspect, other tokens', () => {
  it('recognises a CI token, says the broker verifies it at exchange, points to explain, and exits 0', async () => {
    const token = await ci.github({}, { now: Math.floor(clock.now / 1000) });
    const r = await inspect([token, '--broker', real.url]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('  typ          "JWT"');
    expect(r.stdout).toContain(
      `Result: a CI OIDC token from "${ci.url}", not a token of the broker at ${real.url} (whose issuer is "${real.url}").`,
    );
    expect(r.stdout).toContain('`tokenbroker explain --config F --token -`');
    expect(r.stdout).not.toMatch(/forg|FAIL|expired/i);
  });

  it('says a CI token has expired, still without calling it invalid', async () => {
    const token = await ci.github({}, { now: Math.floor(clock.now / 1000) - 3600, ttl: 300 });
    const r = await inspect([token, '--broker', real.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nIt expired at \S+Z, 55m ago: the broker would refuse it now/);
  });

  it.each([
    ['garbage', 'not-a-token', /the token is not a JWT \(.+\): a JWT is three base64url parts/],
    ['a JWE', 'a.b.c.d.e', /the token is an encrypted JWT \(JWE, five parts\)/],
    [
      'a payload that is not JSON',
      `${base64url.encode('{"alg":"ES256"}')}.bm9wZQ.c2ln`,
      /not a JWT/,
    ],
    ['64 KiB and more', 'a'.repeat(65 * 1024), /is 66560 characters long, more than any JWT/],
  ])('refuses %s with exit 1 and prints nothing on stdout', async (_n, token, message) => {
    const r = await inspect([token, '--broker', real.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('escapes every header field, claim name and value: none can add a line or drive the terminal', async () => {
    const evil = '\u001b[2J\u202e\nResult: valid: trust me';
    const token = await ci.mint(
      { sub: evil, [`x${evil}`]: [evil], exp: Math.floor(clock.now / 1000) + 60 },
      { header: { typ: evil, kid: evil } },
    );
    const r = await inspect([token, '--broker', real.url]);
    expect(r.code).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u001b\u202e]/);
    expect(lines(r.stdout).filter((l) => l.startsWith('Result'))).toEqual([
      expect.stringMatching(/^Result: a CI OIDC token from /),
    ]);
    expect(r.stdout).toContain('  sub          "\\u001b[2J\\u202e\\nResult: valid: trust me"');
    expect(r.stdout).toContain('  x\\x1b[2J\\u{202e}\\nResult: valid: trust me ["\\u001b');
  });
});

describe('tokenbroker token inspect without a broker to ask', () => {
  it('decodes only when no broker is named, says the signature was NOT verified and how to name one, and exits 0', async () => {
    const r = await inspect([await minted()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  typ          "at+jwt"');
    expect(r.stdout).toContain(
      'Signature NOT verified: no broker named: pass --broker URL, set TOKENBROKER_URL, or log in with `tokenbroker login --broker URL`',
    );
    expect(r.stdout).toContain(
      `It looks like a broker access token (typ at+jwt) from "${real.url}": verify it against the broker you got it from`,
    );
  });

  it('decodes only when logged in to several brokers, naming them', async () => {
    await storeMinted(home, real.url, real.broker);
    await storeMinted(home, 'https://b.example.com', real.broker);
    const r = await inspect([await ci.github()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `Signature NOT verified: logged in to 2 brokers (${real.url}, https://b.example.com): say which to verify against with --broker URL`,
    );
    expect(r.stdout).toContain(`It looks like a CI OIDC token from "${ci.url}"`);
  });

  it('prints the decoded token and exits 3 when the broker does not answer', async () => {
    const closed = await closedPortUrl();
    const r = await inspect([await minted(), '--broker', closed]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('  sub          "user:alice@example.com"');
    expect(r.stdout).toContain(
      `Signature NOT verified: the keys of the broker at ${closed} could not be fetched`,
    );
    expect(r.stderr).toMatch(
      /failed: ECONNREFUSED \(tried 4 times\): check that the broker at http:\/\/127\.0\.0\.1:\d+ is up\n$/,
    );
  });

  it('exits 1 when the URL answers but is not a broker', async () => {
    const r = await inspect([await minted(), '--broker', ci.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/answered HTTP 404: check that \S+ is the broker's base URL/);
  });

  it.each([
    [
      'no token and no login',
      [],
      /no broker given and no login stored: run `tokenbroker login --broker URL`/,
      2,
    ],
    [
      'an empty stdin',
      ['-'],
      /no token given: pass it as the argument, or - and the token on stdin/,
      2,
    ],
    [
      'a --broker that is not a URL',
      ['x.y.z', '--broker', 'nope'],
      /--broker "nope" is not a URL/,
      2,
    ],
  ])('exits with a usage error for %s', async (_n, args, message, code) => {
    const r = await inspect(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it('says to log in, or to pass a token, when the named broker has no stored login', async () => {
    const r = await inspect(['--broker', real.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `tokenbroker: no login stored for ${real.url}: run \`tokenbroker login --broker ${real.url}\`, or give the token: \`tokenbroker token inspect TOKEN\` (or - to read it from stdin)\n`,
    );
  });
});
