import { BrokerError } from '../shared/errors.js';
import { anyCovers, normalizeResource, scopesForResource } from './scope.js';

/** What one matched policy, role or subject token grants. */
export interface GrantSet {
  /** Policy or role name, or `token` for a down-scoped broker token. */
  source: string;
  scopes: readonly string[];
  /** Seconds; undefined when this grant adds no cap of its own. */
  maxTtl?: number | undefined;
}

export interface ScopeRequest {
  scopes?: string[] | undefined;
  resource?: string | undefined;
  /**
   * Who reads a refusal: the operator of a pipeline (who can change a trust
   * policy), or a person on the page (who can only ask for less, or ask an
   * administrator). The operator's wording unless said.
   */
  reader?: 'operator' | 'person' | undefined;
}

export interface ScopeDecision {
  scopes: string[];
  /** Smallest max_ttl among the grant sets that granted a scope of the token. */
  maxTtl: number | undefined;
  /** Names of the grant sets that contributed. */
  sources: string[];
}

/**
 * Decides a token's scopes from what was granted and what was asked:
 * the union of every matched grant; `scope` narrows it, `resource` narrows it
 * to one repository; nothing asked means everything granted.
 */
export function decideScopes(grants: readonly GrantSet[], req: ScopeRequest): ScopeDecision {
  const all = [...new Set(grants.flatMap((g) => g.scopes))];
  let scopes: string[];
  if (req.resource !== undefined) {
    const resource = normalizeResource(req.resource);
    const onResource = scopesForResource(all, resource);
    if (onResource.length === 0) {
      throw new BrokerError(
        'invalid_target',
        req.reader === 'person'
          ? `your roles give you no permission on ${resource}: ask for one of the scopes listed under "You may request"`
          : `no permission is granted on ${resource}: ask for a resource your trust policy or role grants`,
      );
    }
    scopes = req.scopes ?? onResource;
    for (const s of scopes) {
      if (!onResource.includes(s)) {
        throw new BrokerError(
          'invalid_scope',
          `scope ${s} is not granted on resource ${resource}: granted there: ${onResource.join(' ')}`,
        );
      }
    }
  } else if (req.scopes !== undefined) {
    for (const s of req.scopes) {
      if (!anyCovers(all, s)) {
        throw new BrokerError(
          'invalid_scope',
          req.reader === 'person'
            ? `your roles do not let you request ${s}: ask only for the scopes listed under "You may request", or ask your administrator for a role that grants it`
            : `scope ${s} is not granted: ask for a narrower scope, or change the trust policy or role that grants it`,
        );
      }
    }
    scopes = req.scopes;
  } else {
    scopes = all;
  }
  if (scopes.length === 0) {
    throw new BrokerError(
      'invalid_scope',
      req.reader === 'person'
        ? 'your roles grant no scope: ask your administrator for a role'
        : 'nothing is granted: the matched policy or role grants no scope',
    );
  }
  const contributing = grants.filter((g) => scopes.some((s) => anyCovers(g.scopes, s)));
  const caps = contributing.map((g) => g.maxTtl).filter((t): t is number => t !== undefined);
  return {
    scopes,
    maxTtl: caps.length ? Math.min(...caps) : undefined,
    sources: contributing.map((g) => g.source),
  };
}
