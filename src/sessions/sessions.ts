import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import { clearCookie, cookieName, type CookieInstruction } from '../shared/cookies.js';
import type { Identity } from '../saml/identity.js';
import type { IdpSessionRef } from '../saml/sp.js';
import type { Store } from '../store/types.js';
import { constantTimeEqual, randomId, sha256Hex } from '../shared/crypto.js';

/** What a session holds besides its subject. */
interface SessionData {
  identity: Identity;
  /** For SAML single logout. */
  idp: IdpSessionRef;
  /** The synchronizer token every state-changing form carries. */
  csrf: string;
}

export interface Session {
  subject: string;
  data: SessionData;
}

interface SessionOptions {
  store: Store;
  clock: Clock;
  /** Absolute lifetime, seconds. */
  ttl: number;
  /** Ends after this long unused, seconds. */
  idleTimeout: number;
  /** Secure cookie (and the __Host- prefix) when the broker is served over https. */
  secure: boolean;
}

/** last_seen_at is written at most this often, so page views do not each cost a write. */
const TOUCH_EVERY = 60;
/** A session id is 43 characters; anything much longer is not one, and is not hashed. */
const MAX_ID_LENGTH = 100;

/**
 * Browser sessions: a random 256-bit id in an HttpOnly, SameSite=Lax cookie;
 * the database keeps only its SHA-256, so a leaked database opens no session.
 * Each method takes the value of this browser's session cookie (`cookieName`)
 * as it arrived, or undefined, and returns the cookie to set or clear.
 */
export class Sessions {
  readonly cookieName: string;

  constructor(private readonly o: SessionOptions) {
    this.cookieName = cookieName('tb_session', o.secure);
  }

  /**
   * Starts a new session (a new id at every login), ending the one `cookie`
   * names; returns the cookie that carries the new id.
   */
  async start(
    cookie: string | undefined,
    subject: string,
    data: Omit<SessionData, 'csrf'>,
  ): Promise<CookieInstruction> {
    // Whatever session this browser had is replaced, never reused.
    if (cookie && cookie.length <= MAX_ID_LENGTH) {
      await this.o.store.deleteSession(await sha256Hex(cookie));
    }
    const id = randomId(32);
    const now = nowSeconds(this.o.clock);
    const sessionData: SessionData = { ...data, csrf: randomId(24) };
    await this.o.store.createSession({
      idSha256: await sha256Hex(id),
      subject,
      data: sessionData as unknown as Record<string, unknown>,
      createdAt: now,
      expiresAt: now + this.o.ttl,
      lastSeenAt: now,
    });
    return {
      name: this.cookieName,
      value: id,
      maxAge: this.o.ttl,
      path: '/',
      httpOnly: true,
      secure: this.o.secure,
      sameSite: 'Lax',
    };
  }

  /** How many sessions are live now, by the same rules as `read` (the metrics' gauge). */
  async live(): Promise<number> {
    const now = nowSeconds(this.o.clock);
    return this.o.store.countLiveSessions(now, now - this.o.idleTimeout);
  }

  /** The live session `id` names, or undefined (expired and idle ones are deleted). */
  async read(id: string | undefined): Promise<Session | undefined> {
    if (!id || id.length > MAX_ID_LENGTH) return undefined;
    const idSha256 = await sha256Hex(id);
    const row = await this.o.store.getSession(idSha256);
    if (!row) return undefined;
    const now = nowSeconds(this.o.clock);
    if (now >= row.expiresAt || now - row.lastSeenAt >= this.o.idleTimeout) {
      await this.o.store.deleteSession(idSha256);
      return undefined;
    }
    if (now - row.lastSeenAt >= TOUCH_EVERY) await this.o.store.touchSession(idSha256, now);
    return { subject: row.subject, data: row.data as unknown as SessionData };
  }

  /**
   * Deletes the session `id` names, if any; returns the instruction that
   * clears the cookie, unless the browser sent none.
   */
  async end(id: string | undefined): Promise<CookieInstruction | undefined> {
    if (id && id.length <= MAX_ID_LENGTH) await this.o.store.deleteSession(await sha256Hex(id));
    if (id === undefined) return undefined;
    return clearCookie({
      name: this.cookieName,
      path: '/',
      httpOnly: false,
      secure: this.o.secure,
    });
  }
}

export function csrfMatches(session: Session, presented: string | undefined): boolean {
  return presented !== undefined && constantTimeEqual(session.data.csrf, presented);
}
