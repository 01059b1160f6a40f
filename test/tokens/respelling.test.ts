import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { BASE64URL_ALPHABET } from '../../src/shared/crypto.js';
import { verifyWorkspaceToken, WorkspaceTokenError } from '../../src/workspace/index.js';
import {
  EXCHANGE,
  form,
  introspect,
  mintFor,
  startBroker,
  testConfig,
  type TestBroker,
} from '../helpers/broker.js';
import { listen } from '../helpers/listen.js';

/**
 * Spellings of one token that a lenient base64url decoder reads as the same
 * bytes. Each has its own SHA-256, so accepting any of them would let a
 * denylist or cache keyed on the token string be walked around.
 */
/** Whitespace around the token: refused everywhere, but /revoke still revokes the token inside. */
const AROUND: [string, (token: string) => string][] = [
  ['a trailing space', (t) => `${t} `],
  ['a trailing newline', (t) => `${t}\n`],
  ['a trailing CRLF', (t) => `${t}\r\n`],
  ['a leading space', (t) => ` ${t}`],
];

const INSIDE: [string, (token: string) => string][] = [
  ['a tab inside the signature', (t) => `${t.slice(0, -10)}\t${t.slice(-10)}`],
  ['a space inside the signature', (t) => `${t.slice(0, -10)} ${t.slice(-10)}`],
  ['== padding', (t) => `${t}==`],
  ['= padding', (t) => `${t}=`],
  ['unused trailing bits set in the signature', flipUnusedBit],
  ['standard base64 + and / characters', (t) => t.replace(/-/g, '+').replace(/_/g, '/')],
  ['a fourth, empty segment', (t) => `${t}.`],
  ['a fourth segment', (t) => `${t}.e30`],
  ['padding inside the payload', (t) => t.replace('.', '==.')],
];

const RESPELLINGS = [...AROUND, ...INSIDE];

/** Sets one of the low bits of the last signature character that encode no byte. */
function flipUnusedBit(token: string): string {
  const signature = token.slice(token.lastIndexOf('.') + 1);
  const unused = signature.length % 4 === 2 ? 0b1111 : signature.length % 4 === 3 ? 0b11 : 0;
  if (!unused) throw new Error('this signature length has no unused bits');
  const last = BASE64URL_ALPHABET.indexOf(signature.at(-1)!);
  return token.slice(0, -1) + BASE64URL_ALPHABET[last ^ 1]!;
}

let broker: TestBroker;
let server: { url: string; close: () => Promise<void> };
/** A token whose signature has a - or _ in it, so that the +/ re-spelling changes it. */
let token: string;

beforeAll(async () => {
  server = await listen((req) => broker.app.fetch(req));
  broker = await startBroker({
    config: await testConfig({ issuer: server.url }),
    clock: new ManualClock(Date.now()),
  });
  for (let i = 0; i < 100 && !token; i++) {
    const minted = (await mintFor(broker, ['write:models/acme/*'])).token;
    if (/[-_]/.test(minted.slice(minted.lastIndexOf('.') + 1))) token = minted;
  }
});
afterAll(async () => {
  await server.close();
  await broker.cleanup();
});

function narrow(subjectToken: string): Promise<Response> {
  return Promise.resolve(
    broker.app.request(
      '/token',
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token: subjectToken,
        subject_token_type: EXCHANGE.access,
        scope: 'write:models/acme/bert',
      }),
    ),
  );
}

const workspace = (t: string) =>
  verifyWorkspaceToken(t, {
    issuer: server.url,
    audience: 'https://hub.test',
    scope: 'write:models/acme/bert',
  });

describe('a broker token has exactly one spelling', () => {
  it.each(RESPELLINGS)('/introspect reports a token with %s inactive', async (_, respell) => {
    const respelled = respell(token);
    expect(respelled).not.toBe(token);
    expect(await introspect(broker, respelled)).toEqual({ active: false });
  });

  it.each(RESPELLINGS)('narrowing a token with %s is invalid_grant', async (_, respell) => {
    const res = await narrow(respell(token));
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toMatch(/send the access_token this broker issued, unchanged/);
  });

  it.each(RESPELLINGS)('verifyWorkspaceToken refuses a token with %s', async (_, respell) => {
    const e = await workspace(respell(token)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(WorkspaceTokenError);
    expect((e as WorkspaceTokenError).code).toBe('invalid_token');
  });

  it.each(INSIDE)(
    '/revoke of a token with %s answers 200 and leaves the token active',
    async (_, respell) => {
      const res = await broker.app.request('/revoke', form({ token: respell(token) }));
      expect(res.status).toBe(200);
      expect((await introspect(broker, token)).active).toBe(true);
    },
  );

  it.each(AROUND)(
    '/revoke of a token with %s revokes it: the holder of a token read from a file wants it dead',
    async (_, respell) => {
      const own = (await mintFor(broker, ['read:models/acme/bert'])).token;
      const res = await broker.app.request('/revoke', form({ token: respell(own) }));
      expect(res.status).toBe(200);
      expect((await introspect(broker, own)).active).toBe(false);
    },
  );

  it('accepts the token as issued everywhere, and revokes it', async () => {
    expect((await introspect(broker, token)).active).toBe(true);
    expect((await narrow(token)).status).toBe(200);
    expect((await workspace(token)).sub).toBe('user:alice@example.com');
    expect((await broker.app.request('/revoke', form({ token }))).status).toBe(200);
    expect((await introspect(broker, token)).active).toBe(false);
  });
});
