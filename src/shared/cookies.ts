/*
 * Cookies as plain values, so that the browser state the broker keeps
 * (sessions/, saml/login-binding) is decided without the web framework: the
 * domain is handed the value of its cookie as the browser sent it, and hands
 * back what to set or clear; http/cookies.ts reads and writes them with Hono.
 * This sits beside clock.ts rather than in sessions/ because saml/ needs it
 * too, and sessions/ already imports saml/.
 */

/** A cookie to set on the response, or to clear (`value: ''`, `maxAge: 0`). */
export interface CookieInstruction {
  /** The full name, `__Host-` prefix included (see cookieName). */
  name: string;
  value: string;
  /** Seconds the browser keeps it; 0 clears it. */
  maxAge: number;
  path: '/';
  httpOnly: boolean;
  secure: boolean;
  sameSite?: 'Lax' | 'None';
}

/**
 * `__Host-name` when the broker is served over https (Secure, Path=/ and no
 * Domain, so no sibling subdomain can set or shadow it); the bare name over
 * plain http, where a browser refuses the prefix without Secure.
 */
export function cookieName(name: string, secure: boolean): string {
  return secure ? `__Host-${name}` : name;
}

/** The instruction that clears `cookie`, with the attributes it was set with. */
export function clearCookie(
  cookie: Omit<CookieInstruction, 'value' | 'maxAge'>,
): CookieInstruction {
  return { ...cookie, value: '', maxAge: 0 };
}
