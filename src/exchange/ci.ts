import { BrokerError } from '../errors.js';
import { ciIdentity, describeIdentity, type CiIdentity } from '../oidc/identity.js';
import { clipText } from './denial-audit.js';
import { evaluatePolicies, type EvaluatedPolicy } from '../policy/evaluate.js';
import { decideScopes } from '../policy/grants.js';
import { PIN_CLAIMS } from '../policy/pins.js';
import type { MintedToken } from '../tokens/mint.js';
import type { ExchangeContext } from './context.js';
import { decideTtl, type ExchangeRequest } from './request.js';

/**
 * The product's main job: a CI job's OIDC token in, a scoped workspace token
 * out. Verify the token, find every trust policy it matches, decide scopes and
 * lifetime, accept the token's jti once, mint.
 */
export async function ciExchange(req: ExchangeRequest, ctx: ExchangeContext): Promise<MintedToken> {
  const { provider, claims } = await ctx.ci.verify(req.subjectToken);
  const subject = `ci:${provider.name}:${claims.sub}`;
  const identity = ciIdentity(provider, claims);
  ctx.auditFields.subject = subject;
  ctx.auditFields.source = 'ci';
  ctx.auditFields.detail = { ci: identity };
  await ctx.rateLimits?.subject(subject);

  const results = evaluatePolicies(ctx.config.ci.policies, provider.name, claims);
  const matched = results.filter((r) => r.matched);
  if (matched.length === 0) {
    // The caller learns its own token's facts; the per-policy detail goes to the audit row only.
    throw new BrokerError(
      'no_policy_matched',
      `no trust policy matched: ${describeIdentity(provider, identity, claims.sub)}`,
      {
        detail: refusalDetail(identity, claims, results, PIN_CLAIMS[provider.kind]),
      },
    );
  }
  const grants = matched.map(({ source: p }) => ({
    source: p.name,
    scopes: p.grant,
    maxTtl: p.maxTtl,
  }));
  ctx.auditFields.policy = matched.map((r) => r.policy).join(','); // for a scope refusal's audit row
  const decision = decideScopes(grants, req);
  const policy = decision.sources.join(',');
  ctx.auditFields.policy = policy;
  const ttl = decideTtl(req.ttlSeconds, ctx.config.tokens, decision.maxTtl);

  const ci = Object.fromEntries(
    Object.entries({
      provider: provider.name,
      repository: identity.repository,
      ref: identity.ref,
      workflow: typeof claims.workflow === 'string' ? claims.workflow : identity.workflow,
      run_id: identity.run_id,
    }).filter(([, v]) => v !== undefined),
  );
  return ctx.minter.mint({
    subject,
    scopes: decision.scopes,
    ttlSeconds: ttl,
    clientId: provider.name,
    source: 'ci',
    claims: { ci },
    // Consumed in the issue's own transaction, so a token refused for a fixable
    // reason (a scope typo) can be sent again, and a replay never issues.
    once:
      claims.jti === undefined
        ? undefined
        : {
            key: `ci:${provider.name}:${String(claims.jti)}`,
            expiresAt: claims.exp! + provider.leewaySeconds,
            replayed: () =>
              new BrokerError(
                'token_replayed',
                'this CI token was already exchanged: each CI token is accepted once, so request a fresh one in the job',
              ),
          },
    audit: { ...ctx.request, source: 'ci', policy, detail: ctx.auditFields.detail },
  });
}

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
