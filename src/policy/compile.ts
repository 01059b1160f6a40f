import type { Config, MatcherSpec, Policy } from '../config/compile.js';
import { ConfigError, formatPath, type ConfigIssue } from '../config/load.js';
import { compileCondition, regexProblem, type Condition } from './match.js';
import { PIN_CLAIMS, pinProblem } from './pins.js';
import { compileRole, type CompiledRole } from './roles.js';

/** A trust policy of ci.policies, its `match` compiled: project pins first. */
export interface CompiledPolicy extends Policy {
  conditions: Condition[];
}

/** Whom the broker trusts, compiled once from the config: CI trust policies and SSO roles. */
export interface Trust {
  policies: CompiledPolicy[];
  roles: CompiledRole[];
}

/**
 * Compiles the config's policies and roles, or throws a ConfigError listing
 * every matcher the broker cannot run (a regex outside RE2 syntax) and every
 * policy that does not pin its project, each at its path in the file. Every
 * entry's loader calls it, so `tokenbroker config check` and startup refuse
 * such a config before a request comes.
 */
export function compileTrust(config: Config, source = 'config'): Trust {
  const issues = trustProblems(config);
  if (issues.length) throw new ConfigError(source, issues);
  const maxClaim = config.limits.maxClaimLength;
  const kinds = new Map(config.ci.providers.map((p) => [p.name, p.kind]));
  return {
    policies: config.ci.policies.map((p) => {
      const kind = kinds.get(p.provider);
      return { ...p, conditions: conditions(p.match, maxClaim, kind ? PIN_CLAIMS[kind] : []) };
    }),
    roles: (config.sso?.roles ?? []).map((r) => compileRole(r, maxClaim)),
  };
}

function trustProblems(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const regexes = (match: Record<string, MatcherSpec>, path: Array<string | number>) => {
    for (const [claim, spec] of Object.entries(match)) {
      for (const alt of Array.isArray(spec) ? spec : [spec]) {
        const problem = typeof alt === 'object' ? regexProblem(alt.regex) : undefined;
        if (problem) issues.push({ path: formatPath([...path, claim]), message: problem });
      }
    }
  };
  config.ci.policies.forEach((pol, i) => {
    regexes(pol.match, ['ci', 'policies', i, 'match']);
    const provider = config.ci.providers.find((p) => p.name === pol.provider);
    const problem = provider && pinProblem(provider.kind, provider.name, pol.match);
    if (problem)
      issues.push({ path: formatPath(['ci', 'policies', i, 'match']), message: problem });
  });
  config.sso?.roles.forEach((role, i) => regexes(role.when, ['sso', 'roles', i, 'when']));
  return issues;
}

/**
 * Conditions in the order they are evaluated: the project pins first, so a
 * token from another project is turned away by one exact or prefix compare
 * before any other matcher reads its claims.
 */
function conditions(
  m: Record<string, MatcherSpec>,
  maxClaimLength: number,
  pins: readonly string[],
): Condition[] {
  const rank = (claim: string) => (pins.includes(claim) ? pins.indexOf(claim) : pins.length);
  return Object.entries(m)
    .map(([claim, spec]) => compileCondition(claim, spec, maxClaimLength))
    .sort((a, b) => rank(a.claim) - rank(b.claim));
}
