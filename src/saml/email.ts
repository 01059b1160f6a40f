import { asciiLower } from '../shared/show.js';

/**
 * How the broker compares email addresses. A person's subject is
 * `user:<email>`, so two addresses that fold to the same text are the same
 * person: folding must never merge addresses the IdP keeps apart.
 *
 * ASCII letters are folded to lower case (`Alice@Contoso.com` is
 * `alice@contoso.com`, as every IdP treats it). Nothing else is folded:
 * Unicode case folding and NFKC map U+212A KELVIN SIGN to `k`, fullwidth
 * letters and ligatures to ASCII, and would let an account at the IdP named
 * with them act as someone else. An address whose non-ASCII characters would
 * change under NFKC or case folding is refused instead (`ß` too: it folds to
 * `ss`), as are addresses with invisible, control or space characters. A
 * non-ASCII address already in that stable form (`josé@example.com` in NFC
 * lower case, `名前@example.jp`) is accepted and compared byte for byte.
 */

/** RFC 5321 caps a path at 256 octets; longer is not an address, and the check below stays cheap. */
export const MAX_EMAIL_LENGTH = 254;
/** An email address, as a NameID or an attribute carries it. */
export const EMAIL = /^[^\s@<>"'\\]+@[^\s@<>"'\\]+\.[^\s@<>"'\\]+$/;

export type EmailCheck =
  | { ok: true; email: string }
  | { ok: false; problem: 'not_an_email' }
  | { ok: false; problem: 'invisible_character' | 'confusable_character'; character: string };

// Controls, format characters (bidi overrides, zero-width), surrogates,
// private use, unassigned, and every kind of space.
const INVISIBLE = /[\p{C}\p{Z}]/u;

/** Full case folding and NFKC, approximated with the locale-free JS primitives. */
const unicodeFold = (s: string) =>
  s.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');

/** U+212A, the way an admin looks a character up. */
export const codePoint = (ch: string) =>
  `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The address a person is known by, or why this text cannot be one. */
export function checkEmail(raw: string): EmailCheck {
  if (raw.length > MAX_EMAIL_LENGTH) return { ok: false, problem: 'not_an_email' };
  const invisible = INVISIBLE.exec(raw);
  if (invisible) return { ok: false, problem: 'invisible_character', character: invisible[0] };
  const email = asciiLower(raw);
  // ASCII is stable under both; only a non-ASCII address needs the slower check.
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u007f]/.test(email) && unicodeFold(email) !== email) {
    const character = [...email].find((ch) => ch > '\u007f' && unicodeFold(ch) !== ch);
    // No single character changes: a sequence does (e + U+0301 composes to é).
    return {
      ok: false,
      problem: 'confusable_character',
      character: character ?? [...email].find((ch) => ch > '\u007f')!,
    };
  }
  if (!EMAIL.test(email)) return { ok: false, problem: 'not_an_email' };
  return { ok: true, email };
}
