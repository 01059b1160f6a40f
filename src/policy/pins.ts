import type { MatcherSpec, ProviderKind } from '../config/compile.js';
import { alternatives } from './match.js';

/** Claims that identify the project a CI token comes from, by provider kind. */
export const PIN_CLAIMS: Record<ProviderKind, readonly string[]> = {
  github: ['repository', 'repository_id', 'sub'],
  gitlab: ['project_path', 'project_id', 'sub'],
  generic: ['sub'],
};

const OWNER = '[A-Za-z0-9_.-]+';
/**
 * What the literal start of a pin must cover so that no other owner's project
 * can match: the owner (GitHub org or user, GitLab top-level group). A glob or
 * regex may vary what comes after it, never the owner itself, since anyone can
 * register `acme-evil` next to `acme`.
 */
const LITERAL_OWNER: Record<string, RegExp> = {
  repository: new RegExp(`^${OWNER}/`),
  project_path: new RegExp(`^${OWNER}/`),
  'github:sub': new RegExp(`^repo:${OWNER}(@\\d+)?/`),
  'gitlab:sub': new RegExp(`^project_path:${OWNER}/`),
};
const IDS = new Set(['repository_id', 'project_id', 'repository_owner_id']);

/**
 * The literal text every match must start with. For a regex, undefined when
 * it has a top-level alternation (`acme/models|.*` matches anything), and a
 * quantified last character does not count (`acme/?.*` does not require `/`).
 */
function literalPrefix(alt: string | { regex: string }): string | undefined {
  if (typeof alt === 'string') return alt.split('*')[0]!;
  const src = alt.regex.startsWith('^') ? alt.regex.slice(1) : alt.regex;
  if (hasTopLevelAlternation(src)) return undefined;
  let prefix = '';
  let i = 0;
  for (; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === '\\' && src[i + 1] === '.') {
      prefix += '.';
      i++;
    } else if (/[A-Za-z0-9_:@/-]/.test(ch)) {
      prefix += ch;
    } else {
      break;
    }
  }
  if (/[?*+{]/.test(src[i] ?? '')) prefix = prefix.slice(0, -1);
  return prefix;
}

function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) return true;
  }
  return false;
}

/**
 * Why a policy's `match` does not safely pin a project, or undefined when it
 * does. The loader refuses such a policy: any project of the provider could
 * use it.
 */
export function pinProblem(
  kind: ProviderKind,
  providerName: string,
  match: Record<string, MatcherSpec>,
): string | undefined {
  const claims = PIN_CLAIMS[kind];
  const present = claims.filter((c) => match[c] !== undefined);
  const names =
    claims.length === 1 ? claims[0] : `${claims.slice(0, -1).join(', ')} or ${claims.at(-1)}`;
  if (present.length === 0) return `a policy must pin ${names}`;
  for (const claim of present) {
    for (const alt of alternatives(match[claim]!)) {
      const text = typeof alt === 'string' ? alt : `/${alt.regex}/`;
      const prefix = literalPrefix(alt);
      const risk = `any ${kind === 'gitlab' ? 'project' : 'repository'} on ${providerName} could use this policy`;
      if (prefix === undefined) {
        return `${claim} ${text} has a top-level | alternative: ${risk}; write the alternatives as a list instead`;
      }
      if (prefix === '') {
        return `${claim} ${text} starts with a wildcard: ${risk}; pin it with a literal value`;
      }
      if (IDS.has(claim) && (typeof alt !== 'string' || alt.includes('*') || !/^\d+$/.test(alt))) {
        return `${claim} must be an exact numeric id, not ${text}`;
      }
      const ownerRule = LITERAL_OWNER[claim] ?? LITERAL_OWNER[`${kind}:${claim}`];
      if (
        ownerRule &&
        !ownerRule.test(prefix) &&
        prefix !== (typeof alt === 'string' ? alt : null)
      ) {
        return `${claim} ${text} does not spell its owner literally: ${risk} whose owner name matches; write the owner in full, e.g. acme/*`;
      }
    }
  }
  return undefined;
}
