import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Clock } from '../clock.js';
import { nowSeconds } from '../clock.js';
import type { Identity } from '../saml/identity.js';
import type { IdpSessionRef } from '../saml/sp.js';
import type { Store } from '../store/types.js';
import { constantTimeEqual, randomId, sha256Hex } from '../tokens/crypto.js';

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

/**
 * Browser sessions: a random 256-bit id in an HttpOnly, SameSite=Lax cookie;
 * the database keeps only its SHA-256, so a leaked database opens no session.
 */
export class Sessions {
  private readonly cookieName: string;

  constructor(private readonly o: SessionOptions) {
    this.cookieName = o.secure ? '__Host-tb_session' : 'tb_session';
  }

  /** Starts a new session (a new id at every login) and sets its cookie. */
  async start(c: Context, subject: string, data: Omit<SessionData, 'csrf'>): Promise<void> {
    // Whatever session this browser had is replaced, never reused.
    const old = getCookie(c, this.cookieName);
    if (old && old.length <= 100) await this.o.store.deleteSession(await sha256Hex(old));
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
    setCookie(c, this.cookieName, id, {
      path: '/',
      httpOnly: true,
      secure: this.o.secure,
      sameSite: 'Lax',
      maxAge: this.o.ttl,
    });
  }

  /** The live session of this request, or undefined (expired and idle ones are deleted). */
  async read(c: Context): Promise<Session | undefined> {
    const id = getCookie(c, this.cookieName);
    if (!id || id.length > 100) return undefined;
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

  /** Deletes this request's session, if any, and clears the cookie. */
  async end(c: Context): Promise<void> {
    const id = getCookie(c, this.cookieName);
    if (id && id.length <= 100) await this.o.store.deleteSession(await sha256Hex(id));
    if (id !== undefined) {
      deleteCookie(c, this.cookieName, { path: '/', secure: this.o.secure });
    }
  }
}

export function csrfMatches(session: Session, presented: string | undefined): boolean {
  return presented !== undefined && constantTimeEqual(session.data.csrf, presented);
}
