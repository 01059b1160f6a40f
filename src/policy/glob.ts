/**
 * Globs as the spec defines them: `*` is any run of characters without `/`,
 * `**` is any run at all, everything else is literal. Compiled once into an
 * anchored regular expression.
 */
type Token = { kind: 'lit'; ch: string } | { kind: 'star' } | { kind: 'dstar' };

function tokenize(pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '*') {
      if (pattern[i + 1] === '*') {
        // Runs of three or more stars mean the same as two.
        while (pattern[i + 1] === '*') i++;
        out.push({ kind: 'dstar' });
      } else {
        out.push({ kind: 'star' });
      }
    } else {
      out.push({ kind: 'lit', ch: pattern[i]! });
    }
  }
  return out;
}

const escape = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

export function compileGlob(pattern: string): RegExp {
  const body = tokenize(pattern)
    .map((t) => (t.kind === 'lit' ? escape(t.ch) : t.kind === 'star' ? '[^/]*' : '[\\s\\S]*'))
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * True when every string `inner` matches is also matched by `outer`, with
 * `inner` itself allowed to hold wildcards (a granted scope such as
 * `write:models/acme/*` narrowed to `write:models/acme/bert`, or a token whose
 * scope is a glob narrowed to a smaller glob). The check is sound: an outer `*`
 * may absorb only an inner `*` or slash-free literals, an outer `**` anything.
 * It may refuse a few exotic inclusions; it never accepts a wider pattern.
 */
export function globCovers(outer: string, inner: string): boolean {
  const o = tokenize(outer);
  const n = tokenize(inner);
  // can[i][j]: o[i..] covers n[j..]. A wildcard absorbs one inner token at a
  // time, so the table is filled in O(|o|·|n|) whatever the input.
  const width = n.length + 1;
  const can = new Uint8Array((o.length + 1) * width);
  can[o.length * width + n.length] = 1;
  for (let i = o.length - 1; i >= 0; i--) {
    const t = o[i]!;
    for (let j = n.length; j >= 0; j--) {
      const u = n[j];
      let r: boolean;
      if (t.kind === 'lit') {
        r =
          u !== undefined &&
          u.kind === 'lit' &&
          u.ch === t.ch &&
          can[(i + 1) * width + j + 1] === 1;
      } else {
        const absorbs =
          u !== undefined &&
          (t.kind === 'dstar' || u.kind === 'star' || (u.kind === 'lit' && u.ch !== '/'));
        r = can[(i + 1) * width + j] === 1 || (absorbs && can[i * width + j + 1] === 1);
      }
      can[i * width + j] = r ? 1 : 0;
    }
  }
  return can[0] === 1;
}
