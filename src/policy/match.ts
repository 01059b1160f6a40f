import { RE2JS } from 're2js';
import type { MatcherSpec } from '../config/compile.js';
import { compileGlob, isGlob } from './glob.js';

/** One condition of a trust policy or role: a claim name and what its value must be. */
export interface Condition {
  claim: string;
  /** The matcher as written in config, for `explain` and audit detail. */
  expected: string;
  /** Longer claims never match (limits.max_claim_length). */
  maxLength: number;
  test(value: unknown): boolean;
}

/** What a claim may cost: longer values never match, so no matcher reads more. */
const DEFAULT_MAX_CLAIM_LENGTH = 1024;

type Alternative = { text: string; test: (s: string) => boolean };

/**
 * Regexes run on RE2JS, an automaton in plain JavaScript (Workers run it too)
 * whose time is linear in the claim whatever the pattern: a claim comes from
 * any token the provider signs, and `(a+-?)+` on V8's backtracking engine
 * doubles its time with every character.
 */
function compileRegex(source: string): RE2JS {
  // Anchored whatever the author wrote: `acme/.*` must not match `evil/acme/x`.
  return RE2JS.compile(`^(?:${source})$`);
}

function compileAlternative(spec: string | { regex: string }): Alternative {
  if (typeof spec === 'string') {
    if (!isGlob(spec)) return { text: JSON.stringify(spec), test: (s) => s === spec };
    const glob = compileGlob(spec);
    return { text: `glob ${JSON.stringify(spec)}`, test: (s) => glob.test(s) };
  }
  const re = compileRegex(spec.regex);
  return { text: `regex /${spec.regex}/`, test: (s) => re.matches(s) };
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

export function compileCondition(
  claim: string,
  spec: MatcherSpec,
  maxClaimLength = DEFAULT_MAX_CLAIM_LENGTH,
): Condition {
  const alts = (Array.isArray(spec) ? spec : [spec]).map(compileAlternative);
  return {
    claim,
    expected: alts.length === 1 ? alts[0]!.text : `any of ${alts.map((a) => a.text).join(', ')}`,
    maxLength: maxClaimLength,
    test(value) {
      const s = claimAsString(value);
      return s !== undefined && s.length <= maxClaimLength && alts.some((a) => a.test(s));
    },
  };
}

/**
 * Why a regex cannot be used, or undefined. It must mean the same in
 * JavaScript's syntax (what authors test with) and run on the linear engine,
 * which has no lookaround or backreferences.
 */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(`^(?:${source})$`);
  } catch (e) {
    return `invalid regex /${source}/: ${(e as Error).message}`;
  }
  try {
    compileRegex(source);
    return undefined;
  } catch (e) {
    const why = /\(\?<?[=!]/.test(source)
      ? 'lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported'
      : /\\([1-9]|k<)/.test(source)
        ? 'backreferences (\\1, \\k<name>) are not supported'
        : (e as Error).message.replace(/^error parsing regexp: /, '');
    return `regex /${source}/ cannot run on the broker's linear-time engine (RE2 syntax): ${why}; rewrite it without that construct (a list of exact values, globs or simpler regexes often says the same)`;
  }
}

export function alternatives(spec: MatcherSpec): Array<string | { regex: string }> {
  return Array.isArray(spec) ? spec : [spec];
}
