/**
 * Globs as the config reference (README) defines them: `*` is any run of characters without `/`,
 * `**` is any run at all, everything else is literal.
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

export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

export interface Glob {
  test(s: string): boolean;
}

/**
 * Compiled once into tokens and matched by walking the set of pattern
 * positions a prefix of the string can reach: O(|pattern|·|string|) whatever
 * the input. A backtracking RegExp took seconds on `acme/*a*a*a*a*b` against
 * a couple of hundred characters, and claims come from anyone's token.
 */
export function compileGlob(pattern: string): Glob {
  const tokens = tokenize(pattern);
  const n = tokens.length;
  return {
    test(s: string): boolean {
      // live[i]: the pattern's first i tokens can match the string read so far.
      let live = new Uint8Array(n + 1);
      let next = new Uint8Array(n + 1);
      live[0] = 1;
      closeOverStars(tokens, live);
      for (let k = 0; k < s.length; k++) {
        const ch = s[k]!;
        next.fill(0);
        let any = false;
        for (let i = 0; i < n; i++) {
          if (live[i] !== 1) continue;
          const t = tokens[i]!;
          if (t.kind === 'lit' ? t.ch === ch : t.kind === 'dstar' || ch !== '/') {
            // A literal steps past its character; a wildcard absorbs it and stays.
            next[t.kind === 'lit' ? i + 1 : i] = 1;
            any = true;
          }
        }
        if (!any) return false;
        closeOverStars(tokens, next);
        [live, next] = [next, live];
      }
      return live[n] === 1;
    },
  };
}

/** A wildcard may match nothing: reaching it also reaches the token after it. */
function closeOverStars(tokens: Token[], set: Uint8Array): void {
  for (let i = 0; i < tokens.length; i++) {
    if (set[i] === 1 && tokens[i]!.kind !== 'lit') set[i + 1] = 1;
  }
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
