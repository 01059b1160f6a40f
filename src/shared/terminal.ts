/**
 * Text for a terminal. Much of what the CLI and the logs print was written by
 * someone else: a CI token's claims (signed or not: `explain` reads forged
 * ones), an IdP's attributes, a broker's error message, a user agent kept in
 * the audit log. A terminal obeys the control characters in such text (ESC
 * clears the screen or moves the cursor, U+009B is ESC [ on many terminals)
 * and the bidi and line-separator characters reorder or split what the reader
 * sees. So every such character is printed as a visible escape (`\x1b`,
 * `\u{202e}`) and the operator sees exactly what was sent; ordinary text in
 * any script (é, 日本, emoji) is left alone.
 *
 * No imports from node or hono: the Workers build and the CI action use it too.
 */

/**
 * What a terminal or a reader could be fooled by: C0 controls and DEL, C1
 * controls, bidi marks, embeddings, overrides and isolates, the line and
 * paragraph separators, invisible characters that hide text (zero-width
 * space, word joiner and invisible operators, BOM, soft hyphen, Mongolian
 * vowel separator, interlinear annotation, tag characters), and lone
 * surrogates. Newline and tab are here too; multi-line output keeps them.
 */
export const UNSAFE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}\ud800-\udfff]/gu;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const cp = ch.codePointAt(0)!;
  return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
}

/**
 * `text` with every unsafe character shown as an escape. A field (a claim, a
 * subject, a message from a server) is escaped whole, newlines included, so
 * it cannot start a line of its own; `multiline` keeps newlines and tabs, for
 * output that is already made of escaped fields. Idempotent: the escapes are
 * plain ASCII.
 */
export function escapeForTerminal(text: string, { multiline = false } = {}): string {
  return text.replace(UNSAFE, (ch) =>
    multiline && (ch === '\n' || ch === '\t') ? ch : visible(ch),
  );
}

/**
 * `JSON.stringify(value)` with every unsafe character inside its strings
 * written as a `\uXXXX` escape, so the line is still valid JSON, `JSON.parse`
 * gives back `value`, and a terminal showing the line sees none of them raw.
 * (JSON.stringify escapes C0 controls itself, but not DEL, C1, bidi or U+2028.)
 */
export function jsonForTerminal(value: unknown): string {
  const json = JSON.stringify(value) ?? 'null';
  return json.replace(UNSAFE, (ch) => {
    let out = '';
    for (let i = 0; i < ch.length; i++)
      out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}
