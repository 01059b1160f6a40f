/**
 * Caller text for an error message: quoted, cut short, and with every
 * character outside printable ASCII written as \uXXXX, so that no control
 * or bidirectional character reaches a terminal or a page. It differs from
 * escapeForTerminal (./terminal.ts), which keeps every script readable for
 * an operator: a message goes back to whoever sent the text, in an
 * error_description that RFC 6749 keeps to ASCII, and the caller chose its
 * length. No imports: the workspace package and the Workers build use it.
 */
export function showText(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  const escaped = cut.replace(/[^\x20-\x7e]|["\\]/g, (ch) =>
    ch === '"' || ch === '\\' ? `\\${ch}` : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `"${escaped}"`;
}

/** Lower case for ASCII letters only: what the broker folds in email addresses (see saml/email.ts). */
export const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/**
 * A JSON value from a token, for a refusal message: never throws (a value
 * nested thousands deep overflows JSON.stringify's stack) and is cut short,
 * since a token may carry 16 KiB of it.
 */
export function showJson(value: unknown, max = 200): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? '[…]' : '{…}';
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
