import type { RawConfig } from './schema.js';
import { providerKind } from './schema.js';
import { compileCondition, type Condition, type MatcherSpec } from '../policy/match.js';
import type { ProviderKind } from '../policy/pins.js';

/** The config as the app uses it: parsed once, durations in seconds, matchers compiled. */
export interface Config {
  issuer: string;
  listen: { host: string; port: number };
  database: string;
  tokens: { audience: string; defaultTtl: number; maxTtl: number; algorithm: SigningAlgorithm };
  resourceServers: ResourceServer[];
  ci: { providers: Provider[]; policies: Policy[] };
  sso: Sso | undefined;
  rateLimit: RateLimit | false;
  scim: { tokenSha256: string } | undefined;
  audit: { retentionSeconds: number };
}

export type SigningAlgorithm = 'ES256' | 'EdDSA' | 'RS256';

export interface ResourceServer {
  clientId: string;
  secretSha256: string;
}

export interface Provider {
  name: string;
  issuer: string;
  kind: ProviderKind;
  audiences: string[];
  jwksUri: string | undefined;
  strictAudience: boolean;
  allowMissingJti: boolean;
  allowPullRequestTarget: boolean;
  leewaySeconds: number;
}

export interface Policy {
  name: string;
  provider: string;
  conditions: Condition[];
  grant: string[];
  maxTtl: number | undefined;
}

export interface Role {
  name: string;
  conditions: Condition[];
  grant: string[];
  maxTtl: number | undefined;
}

export interface Sso {
  saml: RawSaml | undefined;
  sessionTtl: number;
  roles: Role[];
}

type RawSaml = NonNullable<NonNullable<RawConfig['sso']>['saml']>;

export interface RateLimit {
  perClient: { limit: number; windowSeconds: number };
  perSubject: { limit: number; windowSeconds: number };
}

const conditions = (m: Record<string, MatcherSpec>): Condition[] =>
  Object.entries(m).map(([claim, spec]) => compileCondition(claim, spec));

export function compileConfig(raw: RawConfig): Config {
  return {
    issuer: raw.issuer.replace(/\/+$/, ''),
    listen: raw.listen,
    database: raw.database,
    tokens: {
      audience: raw.tokens.audience,
      defaultTtl: raw.tokens.default_ttl,
      maxTtl: raw.tokens.max_ttl,
      algorithm: raw.tokens.algorithm,
    },
    resourceServers: raw.resource_servers.map((r) => ({
      clientId: r.client_id,
      secretSha256: r.client_secret_sha256,
    })),
    ci: {
      providers: (raw.ci?.providers ?? []).map((p) => ({
        name: p.name,
        issuer: p.issuer,
        kind: providerKind(p.issuer, p.kind),
        audiences: p.audiences,
        jwksUri: p.jwks_uri,
        strictAudience: p.strict_audience,
        allowMissingJti: p.allow_missing_jti,
        allowPullRequestTarget: p.allow_pull_request_target,
        leewaySeconds: p.leeway,
      })),
      policies: (raw.ci?.policies ?? []).map((p) => ({
        name: p.name,
        provider: p.provider,
        conditions: conditions(p.match as Record<string, MatcherSpec>),
        grant: p.grant,
        maxTtl: p.max_ttl,
      })),
    },
    sso: raw.sso && {
      saml: raw.sso.saml,
      sessionTtl: raw.sso.session_ttl,
      roles: raw.sso.roles.map((r) => ({
        name: r.name,
        conditions: conditions(r.when as Record<string, MatcherSpec>),
        grant: r.grant,
        maxTtl: r.max_ttl,
      })),
    },
    rateLimit:
      raw.rate_limit === false
        ? false
        : {
            perClient: raw.rate_limit?.per_client ?? { limit: 300, windowSeconds: 60 },
            perSubject: raw.rate_limit?.per_subject ?? { limit: 60, windowSeconds: 60 },
          },
    scim: raw.scim && { tokenSha256: raw.scim.token_sha256 },
    audit: { retentionSeconds: raw.audit.retention },
  };
}
