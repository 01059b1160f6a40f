import { showJson } from '../jws/compact.js';
import type { Policy } from '../config/compile.js';
import type { Condition } from './match.js';

export interface ConditionResult {
  claim: string;
  expected: string;
  /** The token's value, as JSON; undefined when the claim is missing. */
  actual: string | undefined;
  matched: boolean;
}

export interface PolicyResult {
  policy: string;
  matched: boolean;
  conditions: ConditionResult[];
}

/** A result with the policy it came from, so grants are read from that very policy. */
export interface EvaluatedPolicy extends PolicyResult {
  source: Policy;
}

export function evaluateConditions(
  conditions: readonly Condition[],
  claims: Record<string, unknown>,
): ConditionResult[] {
  return conditions.map((c) => {
    // Own members only: a condition on `constructor` must not see Object's.
    const value = Object.hasOwn(claims, c.claim) ? claims[c.claim] : undefined;
    return {
      claim: c.claim,
      expected: c.expected,
      actual: value === undefined ? undefined : showJson(value),
      matched: value !== undefined && c.test(value),
    };
  });
}

/** Every policy of the token's provider, each with every condition's outcome. */
export function evaluatePolicies(
  policies: readonly Policy[],
  provider: string,
  claims: Record<string, unknown>,
): EvaluatedPolicy[] {
  return policies
    .filter((p) => p.provider === provider)
    .map((p) => {
      const conditions = evaluateConditions(p.conditions, claims);
      return { policy: p.name, matched: conditions.every((c) => c.matched), conditions, source: p };
    });
}
