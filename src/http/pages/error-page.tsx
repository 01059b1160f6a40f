import type { ErrorCode } from '../../shared/errors.js';
import { MessagePage, renderPage } from './layout.js';
import { printable } from '../html.js';

const TITLES: Partial<Record<ErrorCode, string>> = {
  saml_invalid: 'Login refused',
  saml_clock: 'Login refused: the clocks disagree',
  no_access: 'No access',
  login_required: 'Please log in',
  csrf_failed: 'This form has expired',
  not_found: 'Not found',
  body_too_large: 'Request too large',
  unavailable: 'Temporarily unavailable',
};

const ACTIONS: Partial<Record<ErrorCode, { href: string; label: string }>> = {
  saml_invalid: { href: '/saml/login', label: 'Log in again' },
  saml_clock: { href: '/saml/login', label: 'Log in again' },
  login_required: { href: '/saml/login', label: 'Log in' },
  csrf_failed: { href: '/', label: 'Reload your page' },
  not_found: { href: '/', label: 'Go to your page' },
};

/** The human page for a refusal; the text is the error's public message only. */
export function errorPageHtml(e: {
  code: ErrorCode | 'internal';
  status: number;
  message: string;
  requestId: string | undefined;
  /** A refused IdP logout request: not a login, so no "log in again". */
  logout?: boolean;
  /** Where to go from here instead of the code's usual link (see ACTIONS); null: no link. */
  action?: { href: string; label: string } | null | undefined;
  /** The header's label (AppOptions.pageLabel). */
  label?: string | undefined;
}): string {
  const title = e.logout
    ? 'Logout request refused'
    : (TITLES[e.code as ErrorCode] ??
      (e.status >= 500 ? 'Something went wrong' : 'Request refused'));
  return renderPage(
    <MessagePage
      title={title}
      // A message may quote the request (a path, a parameter): no raw control character reaches the page.
      message={printable(e.message)}
      action={
        e.action !== undefined
          ? (e.action ?? undefined)
          : e.logout
            ? { href: '/', label: 'Go to your page' }
            : ACTIONS[e.code as ErrorCode]
      }
      note={e.requestId ? `Request id ${e.requestId} (quote it to your administrator).` : undefined}
    />,
    e.label,
  );
}
