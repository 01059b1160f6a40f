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
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (n.length + 1) + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (i === o.length) {
      r = j === n.length;
    } else {
      const t = o[i]!;
      if (t.kind === 'lit') {
        const u = n[j];
        r = u !== undefined && u.kind === 'lit' && u.ch === t.ch && go(i + 1, j + 1);
      } else {
        // Absorb zero or more inner tokens.
        r = go(i + 1, j);
        for (let k = j; !r && k < n.length; k++) {
          const u = n[k]!;
          const ok = t.kind === 'dstar' || u.kind === 'star' || (u.kind === 'lit' && u.ch !== '/');
          if (!ok) break;
          r = go(i + 1, k + 1);
        }
      }
    }
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}
