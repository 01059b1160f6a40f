import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import type { CookieInstruction } from '../../src/shared/cookies.js';
import { Sessions } from '../../src/sessions/sessions.js';
import { openTestDatabase, tempDir } from '../helpers/runtime.js';

/**
 * Sessions as plain values: the session cookie's value in, the cookie to set
 * or clear out, on a real store (SQLite, or D1 in workerd) and a clock the test moves. The same
 * behaviour through the routes is in test/saml/login.test.ts.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
const START = Date.UTC(2026, 0, 15, 12);
const TTL = 8 * 3600;
const IDLE = 3600;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const person = {
  identity: { email: 'alice@example.com', name: 'Alice', groups: [], claims: {} },
  idp: {
    nameId: 'alice@example.com',
    nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    sessionIndex: '_s1',
  },
};

async function sessions(secure = true) {
  const dir = tempDir();
  const { store, close } = await openTestDatabase(dir.dir);
  cleanups.push(async () => {
    await close();
    dir.cleanup();
  });
  const clock = new ManualClock(START);
  return {
    store,
    clock,
    sessions: new Sessions({ store, clock, ttl: TTL, idleTimeout: IDLE, secure }),
  };
}

describe('Sessions cookie instructions', () => {
  it.each([
    { issuer: 'https', secure: true, name: '__Host-tb_session' },
    { issuer: 'plain http', secure: false, name: 'tb_session' },
  ])(
    'sets an HttpOnly, SameSite=Lax cookie for session_ttl with the $issuer attributes',
    async ({ secure, name }) => {
      const { sessions: s } = await sessions(secure);
      expect(s.cookieName).toBe(name);
      const cookie = await s.start(undefined, 'user:alice@example.com', person);
      expect(cookie).toEqual<CookieInstruction>({
        name,
        value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as string,
        maxAge: TTL,
        path: '/',
        httpOnly: true,
        secure,
        sameSite: 'Lax',
      });
    },
  );

  it('keeps only the SHA-256 of the id it hands the browser', async () => {
    const { store, sessions: s } = await sessions();
    const { value } = await s.start(undefined, 'user:alice@example.com', person);
    expect(await store.getSession(value)).toBeUndefined();
    expect(await store.getSession(sha256(value))).toMatchObject({
      subject: 'user:alice@example.com',
    });
  });

  it('clears the cookie at logout only when the browser sent one, with the attributes it had', async () => {
    const { sessions: s } = await sessions();
    const { value } = await s.start(undefined, 'user:alice@example.com', person);
    expect(await s.end(undefined)).toBeUndefined();
    expect(await s.end(value)).toEqual<CookieInstruction>({
      name: '__Host-tb_session',
      value: '',
      maxAge: 0,
      path: '/',
      httpOnly: false,
      secure: true,
    });
    expect(await s.read(value)).toBeUndefined();
    // A value that names no session is cleared all the same.
    expect((await s.end('not-a-session'))?.maxAge).toBe(0);
  });
});

describe('Sessions.read', () => {
  it('returns the session its cookie names, with a CSRF token of its own', async () => {
    const { sessions: s } = await sessions();
    const { value } = await s.start(undefined, 'user:alice@example.com', person);
    const session = await s.read(value);
    expect(session).toMatchObject({ subject: 'user:alice@example.com', data: person });
    expect(session!.data.csrf).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it.each([
    { name: 'no cookie', cookie: () => undefined },
    { name: 'an empty cookie', cookie: () => '' },
    {
      name: 'a tampered id',
      cookie: (id: string) => id.slice(0, -1) + (id.endsWith('A') ? 'B' : 'A'),
    },
    { name: 'the id with a character added', cookie: (id: string) => `${id}A` },
  ])('finds no session for $name', async ({ cookie }) => {
    const { sessions: s } = await sessions();
    const { value } = await s.start(undefined, 'user:alice@example.com', person);
    expect(await s.read(cookie(value))).toBeUndefined();
  });

  it('does not look up a cookie value longer than 100 characters, even one stored', async () => {
    const { store, sessions: s } = await sessions();
    const stored = (id: string, subject: string) =>
      store.createSession({
        idSha256: sha256(id),
        subject,
        data: person as unknown as Record<string, unknown>,
        createdAt: START / 1000,
        expiresAt: START / 1000 + TTL,
        lastSeenAt: START / 1000,
      });
    await stored('A'.repeat(100), 'user:alice@example.com');
    await stored('A'.repeat(101), 'user:mallory@example.com');
    expect(await s.read('A'.repeat(100))).toMatchObject({ subject: 'user:alice@example.com' });
    expect(await s.read('A'.repeat(101))).toBeUndefined();
  });

  it('ends a session left unused for the idle timeout, and deletes it', async () => {
    const { store, clock, sessions: s } = await sessions();
    const { value } = await s.start(undefined, 'user:alice@example.com', person);
    clock.advance(IDLE - 1);
    expect(await s.read(value)).toBeDefined();
    clock.advance(IDLE - 1);
    expect(await s.read(value)).toBeDefined(); // the read above kept it alive
    clock.advance(IDLE);
    expect(await s.read(value)).toBeUndefined();
    expect(await store.getSession(sha256(value))).toBeUndefined();
  });

  it('ends a session at session_ttl however much it is used', async () => {
    const { clock, sessions: s } = await sessions();
    const { value } = await s.start(undefined, 'user:alice@example.com', person);
    for (let used = 0; used < TTL - IDLE / 2; used += IDLE / 2) {
      clock.advance(IDLE / 2);
      expect(await s.read(value)).toBeDefined();
    }
    clock.set(START + TTL * 1000);
    expect(await s.read(value)).toBeUndefined();
  });

  it('replaces the session the browser had when it logs in again', async () => {
    const { sessions: s } = await sessions();
    const first = await s.start(undefined, 'user:alice@example.com', person);
    const second = await s.start(first.value, 'user:alice@example.com', person);
    expect(second.value).not.toBe(first.value);
    expect(await s.read(first.value)).toBeUndefined();
    expect(await s.read(second.value)).toBeDefined();
  });
});
