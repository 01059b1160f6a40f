import { BrokerError } from '../../shared/errors.js';
import { ciIdentity, describeIdentity, type CiIdentity } from '../../oidc/identity.js';
import type { VerifiedCiToken } from '../../oidc/verify.js';
import { evaluatePolicies, type EvaluatedPolicy } from '../../policy/evaluate.js';
import { PIN_CLAIMS } from '../../policy/pins.js';
import { clipText } from '../denial-audit.js';
import type { Grant, GrantInput, Verified } from '../grant.js';

/** A CI job's OIDC token, verified: its provider and claims ride along to the policies. */
interface CiVerified extends Verified {
  ciToken: VerifiedCiToken;
  identity: CiIdentity;
}

/**
 * The product's main job: a CI job's OIDC token in, a scoped workspace token
 * out. The token is verified against its provider's keys; every trust policy
 * it matches grants its scopes; its jti is accepted once, in the issue's own
 * transaction, so a token refused for a fixable reason (a scope typo) can be
 * sent again and a replay never issues.
 */
export const ciGrant: Grant<GrantInput & { subjectToken: string }, CiVerified> = {
  source: 'ci',
  names: 'policies',

  async verify(input, deps) {
    const ciToken = await deps.ci.verify(input.subjectToken);
    const { provider, claims } = ciToken;
    const identity = ciIdentity(provider, claims);
    const ci = Object.fromEntries(
      Object.entries({
        provider: provider.name,
        repository: identity.repository,
        ref: identity.ref,
        workflow: typeof claims.workflow === 'string' ? claims.workflow : identity.workflow,
        run_id: identity.run_id,
      }).filter(([, v]) => v !== undefined),
    );
    return {
      subject: `ci:${provider.name}:${claims.sub}`,
      clientId: provider.name,
      provider: provider.name,
      detail: { ci: identity },
      tokenClaims: { ci },
      once:
        claims.jti === undefined
          ? undefined
          : {
              key: `ci:${provider.name}:${String(claims.jti)}`,
              expiresAt: claims.exp! + provider.leewaySeconds,
            },
      ciToken,
      identity,
    };
  },

  entitle({ ciToken: { provider, claims }, identity }, deps) {
    const results = evaluatePolicies(deps.trust.policies, provider.name, claims);
    const matched = results.filter((r) => r.matched);
    if (matched.length === 0) {
      // The caller learns its own token's facts; the per-policy detail goes to the audit row only.
      throw new BrokerError(
        'no_policy_matched',
        `no trust policy matched: ${describeIdentity(provider, identity, claims.sub)}`,
        { detail: refusalDetail(identity, claims, results, PIN_CLAIMS[provider.kind]) },
      );
    }
    return matched.map(({ source: p }) => ({ source: p.name, scopes: p.grant, maxTtl: p.maxTtl }));
  },

  replayed() {
    return new BrokerError(
      'token_replayed',
      'this CI token was already exchanged: each CI token is accepted once, so request a fresh one in the job',
    );
  },
};

/** Policies detailed in a refusal's audit row; the rest are counted. */
const DETAILED_POLICIES = 8;
/** A claim's value in that detail: enough to tell a typo from an attack. */
const SHOWN_VALUE = 96;

/**
 * Per policy, each condition's outcome: the one that failed with what it
 * expected and the token's value (cut), those that held by name, those
 * never run after the failure as skipped; at most eight policies, and how
 * many of all failed at a project pin (a token from a project none of them
 * trusts, which any repository can mint at will). The identity is cut the
 * same way.
 */
function refusalDetail(
  identity: CiIdentity,
  claims: Record<string, unknown>,
  results: readonly EvaluatedPolicy[],
  pins: readonly string[],
): Record<string, unknown> {
  let pinMismatch = 0;
  const policies = results.slice(0, DETAILED_POLICIES).map((r) => {
    return {
      policy: r.policy,
      conditions: r.conditions.map((c) => {
        if (c.skipped) return { claim: c.claim, matched: false, skipped: true };
        if (c.matched) return { claim: c.claim, matched: true };
        // A string claim is cut here, with its true length; other values come cut by showJson.
        const value = Object.hasOwn(claims, c.claim) ? claims[c.claim] : undefined;
        const full = typeof value === 'string' ? JSON.stringify(value) : c.actual;
        const actual = full === undefined ? undefined : clipText(full, SHOWN_VALUE);
        return { claim: c.claim, expected: c.expected, actual, matched: false };
      }),
    };
  });
  for (const r of results) {
    const failed = r.conditions.find((c) => !c.matched && !c.skipped);
    if (failed && pins.includes(failed.claim)) pinMismatch++;
  }
  const ci = Object.fromEntries(
    Object.entries(identity).map(([k, v]) => [k, clipText(String(v), SHOWN_VALUE)]),
  );
  const more = results.length - policies.length;
  return {
    ci,
    policies,
    ...(more > 0 ? { more_policies: more } : {}),
    ...(pinMismatch ? { pin_mismatch: pinMismatch } : {}),
  };
}
