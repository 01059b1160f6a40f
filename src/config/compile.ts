import type { MatcherSpec, ProviderKind, RawConfig } from './schema.js';
import { providerKind } from './schema.js';

export type { MatcherSpec, ProviderKind } from './schema.js';

/**
 * The config as the app uses it: parsed once, checked for shape, durations in
 * seconds. Policy and role matchers stay as written: src/policy compiles and
 * checks them (see compileTrust), which every entry's loader calls.
 */
export interface Config {
  issuer: string;
  listen: { host: string; port: number };
  database: string;
  tokens: { audience: string; defaultTtl: number; maxTtl: number; algorithm: SigningAlgorithm };
  resourceServers: ResourceServer[];
  ci: { providers: Provider[]; policies: Policy[] };
  sso: Sso | undefined;
  rateLimit: RateLimit | false;
  limits: Limits;
  scim: Scim | undefined;
  audit: { retentionSeconds: number };
  /** GET /metrics on Node: the SHA-256 (lowercase hex) of its bearer token, when it asks for one. */
  metrics: { tokenSha256: string | undefined };
}

/** SCIM 2.0 provisioning at /scim/v2. */
export interface Scim {
  /** SHA-256 (hex) of the bearer secret the directory sends. */
  tokenSha256: string;
  /** Only people the directory provisioned, and left active, may log in. */
  requireProvisioned: boolean;
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
  /** Claim name to matcher; every one must hold. */
  match: Record<string, MatcherSpec>;
  grant: string[];
  maxTtl: number | undefined;
}

export interface Role {
  name: string;
  /** SAML attribute (or email, name, groups, nameid) to matcher; every one must hold. */
  when: Record<string, MatcherSpec>;
  grant: string[];
  maxTtl: number | undefined;
  /** The people it matches may use the operator's page (/admin). */
  admin: boolean;
}

export interface Sso {
  saml: Saml | undefined;
  /** Absolute session lifetime, seconds. */
  sessionTtl: number;
  /** A session unused for this long ends, seconds. */
  sessionIdleTimeout: number;
  roles: Role[];
}

export interface Saml {
  entityId: string;
  acsUrl: string;
  idp: {
    metadataFile: string | undefined;
    metadataUrl: string | undefined;
    /**
     * The text of metadata_file, filled in by the Node config loader (the
     * core never reads files, so it also runs on Workers).
     */
    metadataXml?: string | undefined;
    entityId: string | undefined;
    entryPoint: string | undefined;
    certs: string[];
    sloUrl: string | undefined;
  };
  /** Attribute names (Name or FriendlyName) to read each field from, in order of preference. */
  attributes: { email: string[]; name: string[]; groups: string[] };
  clockSkewSeconds: number;
  maxAssertionAgeSeconds: number | undefined;
  allowIdpInitiated: boolean;
  signRequests: boolean;
  spPrivateKey: string | undefined;
  spCertificate: string | undefined;
}

type RawSaml = NonNullable<NonNullable<RawConfig['sso']>['saml']>;

/**
 * What IdPs call these attributes when the config does not say: the usual
 * friendly names, Entra ID's claim URIs, and the LDAP OIDs (urn:oid:...).
 */
const DEFAULT_ATTRIBUTES = {
  email: [
    'email',
    'mail',
    'emailaddress',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
    'urn:oid:0.9.2342.19200300.100.1.3',
  ],
  name: [
    'displayName',
    'name',
    'http://schemas.microsoft.com/identity/claims/displayname',
    'urn:oid:2.16.840.1.113730.3.1.241',
  ],
  groups: [
    'groups',
    'memberOf',
    'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
  ],
};

function compileSaml(raw: RawSaml, issuer: string): Saml {
  const attr = (key: keyof typeof DEFAULT_ATTRIBUTES) => {
    const v = raw.attributes[key];
    return v === undefined ? DEFAULT_ATTRIBUTES[key] : [v];
  };
  return {
    entityId: raw.entity_id ?? `${issuer}/saml/metadata`,
    acsUrl: `${issuer}/saml/acs`,
    idp: {
      metadataFile: raw.idp.metadata_file,
      metadataUrl: raw.idp.metadata_url,
      entityId: raw.idp.entity_id,
      entryPoint: raw.idp.entry_point,
      certs: raw.idp.certs ?? [],
      sloUrl: raw.idp.slo_url,
    },
    attributes: { email: attr('email'), name: attr('name'), groups: attr('groups') },
    clockSkewSeconds: raw.clock_skew,
    maxAssertionAgeSeconds: raw.max_assertion_age,
    allowIdpInitiated: raw.allow_idp_initiated,
    signRequests: raw.sign_requests,
    spPrivateKey: raw.sp_private_key,
    spCertificate: raw.sp_certificate,
  };
}

export interface RateLimit {
  perClient: Rate;
  perSubject: Rate;
  /** Failed client authentication at /introspect, per (address, client_id). */
  failedAuth: Rate;
}

export interface Rate {
  limit: number;
  windowSeconds: number;
}

export interface Limits {
  /** A request, headers and body, must arrive within this many seconds. */
  requestTimeoutSeconds: number;
  /** A claim longer than this never matches a policy or role condition. */
  maxClaimLength: number;
}

export function compileConfig(raw: RawConfig): Config {
  const issuer = raw.issuer.replace(/\/+$/, '');
  return {
    issuer,
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
        match: p.match as Record<string, MatcherSpec>,
        grant: p.grant,
        maxTtl: p.max_ttl,
      })),
    },
    sso: raw.sso && {
      saml: raw.sso.saml && compileSaml(raw.sso.saml, issuer),
      sessionTtl: raw.sso.session_ttl,
      sessionIdleTimeout: raw.sso.session_idle_timeout,
      roles: raw.sso.roles.map((r) => ({
        name: r.name,
        when: r.when as Record<string, MatcherSpec>,
        grant: r.grant,
        maxTtl: r.max_ttl,
        admin: r.admin,
      })),
    },
    rateLimit:
      raw.rate_limit === false
        ? false
        : {
            perClient: raw.rate_limit?.per_client ?? { limit: 300, windowSeconds: 60 },
            perSubject: raw.rate_limit?.per_subject ?? { limit: 60, windowSeconds: 60 },
            failedAuth: raw.rate_limit?.failed_auth ?? { limit: 20, windowSeconds: 60 },
          },
    limits: {
      requestTimeoutSeconds: raw.limits.request_timeout,
      maxClaimLength: raw.limits.max_claim_length,
    },
    scim: raw.scim && {
      tokenSha256: raw.scim.token_sha256,
      requireProvisioned: raw.scim.require_provisioned,
    },
    audit: { retentionSeconds: raw.audit.retention },
    metrics: { tokenSha256: raw.metrics?.token_sha256?.toLowerCase() },
  };
}
