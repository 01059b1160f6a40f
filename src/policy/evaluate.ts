import { showJson } from '../shared/show.js';
import type { CompiledPolicy as Policy } from './compile.js';
import { claimAsString, type Condition } from './match.js';

export interface ConditionResult {
  claim: string;
  expected: string;
  /**
   * The token's value, as JSON, for a condition that failed (and for every
   * condition under `every`); undefined when the claim is missing. A condition
   * that held or was skipped on the token endpoint's path is not printed: that
   * would be a JSON.stringify per condition per policy on every exchange.
   */
  actual: string | undefined;
  matched: boolean;
  /**
   * True when an earlier condition of the policy had already failed, so this
   * one was never run: it is reported, not decided.
   */
  skipped?: true;
  /** The claim's length when it is over the condition's cap, so it could not match. */
  tooLong?: number;
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

export interface EvaluateOptions {
  /**
   * Run every condition even after one failed, for `explain`, which shows an
   * operator the whole picture of one token. The token endpoint never does:
   * a token from another project must not reach the other matchers at all.
   */
  every?: boolean;
}

/**
 * The conditions in order (the compiler puts a policy's project pins first),
 * stopping at the first that fails: each compare is linear in a claim capped
 * at `limits.max_claim_length`, and a failed pin ends the policy.
 */
export function evaluateConditions(
  conditions: readonly Condition[],
  claims: Record<string, unknown>,
  options: EvaluateOptions = {},
): ConditionResult[] {
  let failed = false;
  return conditions.map((c) => {
    if (failed && !options.every) {
      return {
        claim: c.claim,
        expected: c.expected,
        actual: undefined,
        matched: false,
        skipped: true,
      };
    }
    // Own members only: a condition on `constructor` must not see Object's.
    const value = Object.hasOwn(claims, c.claim) ? claims[c.claim] : undefined;
    const matched = value !== undefined && c.test(value);
    failed ||= !matched;
    const actual = value !== undefined && (!matched || options.every) ? showJson(value) : undefined;
    const length = claimAsString(value)?.length ?? 0;
    if (!matched && length > c.maxLength) {
      return { claim: c.claim, expected: c.expected, actual, matched, tooLong: length };
    }
    return { claim: c.claim, expected: c.expected, actual, matched };
  });
}

/** Every policy of the token's provider, each with its conditions' outcomes. */
export function evaluatePolicies(
  policies: readonly Policy[],
  provider: string,
  claims: Record<string, unknown>,
  options: EvaluateOptions = {},
): EvaluatedPolicy[] {
  return policies
    .filter((p) => p.provider === provider)
    .map((p) => {
      const conditions = evaluateConditions(p.conditions, claims, options);
      return { policy: p.name, matched: conditions.every((c) => c.matched), conditions, source: p };
    });
}
