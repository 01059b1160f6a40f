import type { MatcherSpec, Role } from '../config/compile.js';
import { asciiLower } from '../shared/show.js';
import type { GrantSet } from './grants.js';
import { compileCondition, type Condition } from './match.js';

/** A role of sso.roles, its `when` compiled. */
export interface CompiledRole extends Role {
  conditions: Condition[];
}

export function compileRole(role: Role, maxClaimLength: number): CompiledRole {
  const when = foldEmailCondition(role.when);
  return {
    ...role,
    conditions: Object.entries(when).map(([k, spec]) => compileCondition(k, spec, maxClaimLength)),
  };
}

/**
 * Roles whose every condition holds. SAML attributes are multi-valued, so a
 * condition holds when any one value of its attribute matches (a person is
 * in `ml-engineers` if that is one of their groups).
 */
export function matchRoles(
  roles: readonly CompiledRole[],
  claims: Record<string, string[]>,
): CompiledRole[] {
  return roles.filter((r) =>
    r.conditions.every((c) => (claims[c.claim] ?? []).some((v) => c.test(v))),
  );
}

export function roleGrants(roles: readonly CompiledRole[]): GrantSet[] {
  return roles.map((r) => ({ source: r.name, scopes: r.grant, maxTtl: r.maxTtl }));
}

/**
 * A role's `when`, with the exact strings and globs of its `email` condition
 * folded like the address they are compared with, so `Karl@Example.com` in
 * config matches the person `karl@example.com`. (Glob syntax is only `*`, so
 * folding keeps its meaning; a regex is left as written and sees lower case.)
 */
export function foldEmailCondition(when: Record<string, MatcherSpec>): Record<string, MatcherSpec> {
  const spec = when.email;
  if (spec === undefined) return when;
  const fold = (alt: string | { regex: string }) =>
    typeof alt === 'string' ? asciiLower(alt) : alt;
  return { ...when, email: Array.isArray(spec) ? spec.map(fold) : fold(spec) };
}
