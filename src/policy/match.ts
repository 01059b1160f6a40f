import { compileGlob, isGlob } from './glob.js';

/**
 * One condition of a trust policy or role: a claim name and what its value
 * must be. In config a matcher is an exact string, a glob, `{ regex }`, or a
 * list of those (any of).
 */
export type MatcherSpec = string | { regex: string } | Array<string | { regex: string }>;

export interface Condition {
  claim: string;
  /** The matcher as written in config, for `explain` and audit detail. */
  expected: string;
  test(value: unknown): boolean;
}

type Alternative = { text: string; test: (s: string) => boolean };

function compileAlternative(spec: string | { regex: string }): Alternative {
  if (typeof spec === 'string') {
    if (!isGlob(spec)) return { text: JSON.stringify(spec), test: (s) => s === spec };
    const re = compileGlob(spec);
    return { text: `glob ${JSON.stringify(spec)}`, test: (s) => re.test(s) };
  }
  // Anchored whatever the author wrote: `acme/.*` must not match `evil/acme/x`.
  const re = new RegExp(`^(?:${spec.regex})$`);
  return { text: `regex /${spec.regex}/`, test: (s) => re.test(s) };
}

/**
 * Claims are compared as strings only when they are strings, so a number or an
 * array never matches a string pattern by accident. Booleans are compared as
 * "true"/"false", the way GitHub sends them.
 */
export function claimAsString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return undefined;
}

export function compileCondition(claim: string, spec: MatcherSpec): Condition {
  const alts = (Array.isArray(spec) ? spec : [spec]).map(compileAlternative);
  return {
    claim,
    expected: alts.length === 1 ? alts[0]!.text : `any of ${alts.map((a) => a.text).join(', ')}`,
    test(value) {
      const s = claimAsString(value);
      return s !== undefined && alts.some((a) => a.test(s));
    },
  };
}

/** Throws a SyntaxError with the engine's words when a regex does not compile. */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(`^(?:${source})$`);
    return undefined;
  } catch (e) {
    return `invalid regex /${source}/: ${(e as Error).message}`;
  }
}

export function alternatives(spec: MatcherSpec): Array<string | { regex: string }> {
  return Array.isArray(spec) ? spec : [spec];
}
