import type { Context } from 'hono';
import { UNSAFE } from '../shared/terminal.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by browser routes: errors there render as a page, not as JSON. */
    errorFormat: 'html' | 'json';
    /** The word every page's header shows (AppOptions.pageLabel), if any. */
    pageLabel: string | undefined;
  }
}

export function wantsHtml(c: Context): boolean {
  if (c.get('errorFormat') === 'html') return true;
  return c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
}

/**
 * Request text to show again in a page (a form's value after a refusal, a
 * path in a 404). JSX escapes markup, but no HTML escape exists for a control
 * character: NUL, a terminal escape or a bidi override would reach the page
 * raw, so each character the terminal escaping deems unsafe becomes U+FFFD
 * (line breaks and tabs stay: a page lays them out as spaces).
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, (ch) => (ch === '\n' || ch === '\r' || ch === '\t' ? ch : '\ufffd'));
}

/**
 * No inline script or style anywhere: the page's code is /static/tokenbroker.js.
 * `form-action` also names where a form may redirect to (the IdP's logout).
 */
function contentSecurityPolicy(formTargets: string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    `form-action 'self'${formTargets.map((t) => ` ${t}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** An HTML page; headers set earlier on `c` (Set-Cookie) are kept. */
export function htmlResponse(
  c: Context,
  body: string,
  status: number,
  options: { formTargets?: string[] } = {},
): Response {
  c.header('Cache-Control', 'no-store');
  c.header('Content-Security-Policy', contentSecurityPolicy(options.formTargets));
  c.header('Content-Type', 'text/html; charset=utf-8');
  return c.body(`<!doctype html>${body}`, status as 200);
}
