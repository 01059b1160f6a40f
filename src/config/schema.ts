import { z } from 'zod';
import { parseDuration } from '../protocol/duration.js';
import { MAX_SCOPES, MAX_SCOPE_CLAIM_LENGTH, scopeSyntaxProblem } from '../protocol/scope.js';
import { isSecureUrl } from '../shared/url.js';

/**
 * The raw shape of the config file (spec section 2). Objects are strict so a
 * misspelt key is an error with its path rather than a silently ignored
 * setting. `compile.ts` turns the result into the typed objects the app uses.
 */

const duration = z
  .union([z.string(), z.number()], { message: 'expected a duration such as 90s, 15m, 8h or 1d' })
  .transform((v, ctx) => {
    const s = parseDuration(v);
    if (s === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration such as 90s, 15m, 8h or 1d, got ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    return s;
  });

const httpUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash;
    } catch {
      return false;
    }
  },
  {
    message: 'expected an http(s) URL without query or fragment, e.g. https://broker.example.com',
    // Not a URL: no use checking its scheme as well.
    abort: true,
  },
);

const keySourceUrl = httpUrl.refine(isSecureUrl, {
  message:
    'expected an https URL: keys fetched over plain http could be replaced by anyone on the network path (http is accepted on loopback only)',
});

const nonEmpty = z.string().min(1, { message: 'expected a non-empty string' });

/** A lifetime: a duration of at least one second. */
const lifetime = duration.refine((s) => s >= 1, { message: 'expected a lifetime of at least 1s' });

const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, {
    message:
      'expected the SHA-256 of the secret as 64 hex characters (e.g. `printf %s "$SECRET" | sha256sum`)',
  })
  .transform((s) => s.toLowerCase());

const scopeList = z
  .array(z.string())
  .min(1, { message: 'expected at least one scope, e.g. ["read:models/acme/*"]' })
  .superRefine((scopes, ctx) => {
    scopes.forEach((s, i) => {
      const problem = scopeSyntaxProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', path: [i], message: problem });
    });
    // A caller who names no scope gets the whole grant, and the Minter refuses
    // a token over these limits: such a grant could never be issued as it is.
    const length = scopes.join(' ').length;
    if (scopes.length > MAX_SCOPES || length > MAX_SCOPE_CLAIM_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        message: `${scopes.length} scopes of ${length} characters: at most ${MAX_SCOPES} scopes and ${MAX_SCOPE_CLAIM_LENGTH} characters fit in one token; say the same in fewer scopes with globs, e.g. read:models/acme/*`,
      });
    }
  });

/**
 * What a claim must be, as written in config: an exact string, a glob,
 * `{ regex }`, or a list of those (any of). src/policy compiles them.
 */
export type MatcherSpec = string | { regex: string } | Array<string | { regex: string }>;

/** Which claims pin a CI token's project depends on who issued it. */
export type ProviderKind = 'github' | 'gitlab' | 'generic';

/** Claims are strings (GitHub sends ids as strings too): a number here is an unquoted id. */
const matcherMessage = (iss: { input?: unknown }) =>
  typeof iss.input === 'number'
    ? `expected a string, got the number ${iss.input}: quote it ('${iss.input}'), as YAML reads unquoted digits as a number and claims are compared as strings`
    : 'expected a string, a glob, { regex: "..." } or a list of those';
const alternative = z.union([z.string().min(1), z.strictObject({ regex: z.string().min(1) })], {
  error: matcherMessage,
});
const matcher = z.union([alternative, z.array(alternative).min(1)], { error: matcherMessage });
// Whether a regex is one the broker runs, and whether a policy pins its
// project, is for src/policy to say (compileTrust): here, only the shape.
const matchMap = z
  .record(z.string(), matcher)
  .refine((m) => Object.keys(m).length > 0, { message: 'expected at least one claim to match' });

const provider = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, {
    message: 'expected a short lowercase name such as github or gitlab',
  }),
  // Compared with the tokens' `iss` exactly: GitHub's and GitLab.com's have no trailing slash.
  issuer: keySourceUrl.refine(
    (s) => !/^https:\/\/(token\.actions\.githubusercontent\.com|gitlab\.com)\/$/.test(s),
    {
      message:
        'remove the trailing slash: the tokens say iss without it, and the issuer must match it exactly',
    },
  ),
  kind: z.enum(['github', 'gitlab', 'generic']).optional(),
  audiences: z.array(nonEmpty).min(1, {
    message: 'expected the accepted `aud` values of CI tokens, e.g. [https://broker.example.com]',
  }),
  jwks_uri: keySourceUrl.optional(),
  strict_audience: z.boolean().default(false),
  allow_missing_jti: z.boolean().default(false),
  allow_pull_request_target: z.boolean().default(false),
  leeway: duration.default(60),
});

const policy = z.strictObject({
  name: nonEmpty,
  provider: nonEmpty,
  match: matchMap,
  grant: scopeList,
  max_ttl: lifetime.optional(),
});

const role = z.strictObject({
  name: nonEmpty,
  when: matchMap,
  grant: scopeList,
  max_ttl: lifetime.optional(),
  // Opens /admin: every subject's tokens and sessions, and the audit log.
  admin: z.boolean({ message: 'expected true or false' }).default(false),
});

const rate = z.string().transform((v, ctx) => {
  const m = /^(\d+)\/(.+)$/.exec(v.trim());
  const window = m ? parseDuration(m[2]!) : undefined;
  if (!m || !window || Number(m[1]) < 1) {
    ctx.addIssue({
      code: 'custom',
      message: `expected requests/window such as 300/1m, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return { limit: Number(m[1]), windowSeconds: window };
});

const pem = (label: string) =>
  z.string().refine((s) => s.includes(`-----BEGIN ${label}`), {
    message: `expected PEM text starting with -----BEGIN ${label}`,
  });

/**
 * IdP metadata is not signed, so whoever can change it in transit can swap
 * the certificate the broker trusts: it is fetched over https only, except
 * from this machine (loopback) in development and tests.
 */
const metadataUrl = httpUrl.refine(isSecureUrl, {
  message:
    'expected an https URL: IdP metadata is unsigned, so over plain http anyone on the network path could replace the IdP certificate (http is accepted only for localhost, 127.0.0.0/8 and [::1])',
});

/** Where the IdP's settings come from: its metadata (file or URL), or by hand. */
const idp = z
  .strictObject({
    metadata_file: nonEmpty.optional(),
    metadata_url: metadataUrl.optional(),
    entity_id: nonEmpty.optional(),
    entry_point: httpUrl.optional(),
    certs: z.array(nonEmpty).min(1, { message: 'expected at least one certificate' }).optional(),
    slo_url: httpUrl.optional(),
  })
  .superRefine((i, ctx) => {
    const sources = [i.metadata_file, i.metadata_url].filter((x) => x !== undefined).length;
    const byHand = i.entry_point !== undefined || i.certs !== undefined;
    if (sources > 1 || (sources === 1 && byHand)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'give the IdP as exactly one of metadata_file, metadata_url, or entity_id + entry_point + certs',
      });
    } else if (sources === 0) {
      for (const key of ['entity_id', 'entry_point', 'certs'] as const) {
        if (i[key] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `required without metadata_file or metadata_url: copy it from the IdP's SAML setup page`,
          });
        }
      }
    }
  });

const saml = z
  .strictObject({
    // Defaults to <issuer>/saml/metadata.
    entity_id: nonEmpty.optional(),
    idp,
    attributes: z
      .strictObject({
        email: nonEmpty.optional(),
        name: nonEmpty.optional(),
        groups: nonEmpty.optional(),
      })
      .default({}),
    clock_skew: duration.default(120),
    max_assertion_age: duration.optional(),
    allow_idp_initiated: z.boolean().default(false),
    sign_requests: z.boolean().default(false),
    sp_private_key: pem('PRIVATE KEY').optional(),
    sp_certificate: pem('CERTIFICATE').optional(),
  })
  .superRefine((s, ctx) => {
    if (s.sign_requests && (!s.sp_private_key || !s.sp_certificate)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sign_requests'],
        message:
          'signing requests needs sp_private_key and sp_certificate (PEM, e.g. from ${SP_KEY}); or set sign_requests: false',
      });
    }
  });

/**
 * Where browsers and clients reach the broker: session cookies and tokens
 * travel to it, so never in the clear beyond this machine.
 */
const brokerIssuer = httpUrl.refine(isSecureUrl, {
  message:
    'expected an https URL: tokens and session cookies sent to a plain-http broker cross the network in the clear (http is accepted on loopback only, e.g. http://127.0.0.1:8787)',
});

export const rawConfigSchema = z
  .strictObject({
    issuer: brokerIssuer,
    listen: z
      .strictObject({
        host: nonEmpty.default('127.0.0.1'),
        // A number, or digits (as `port: ${PORT}` gives after interpolation).
        port: z
          .union(
            [
              z.number(),
              z.string().regex(/^\d+$/, { message: 'expected a port number' }).transform(Number),
            ],
            { message: 'expected a port number' },
          )
          .pipe(z.number().int().min(0).max(65535))
          .default(8787),
      })
      .default({ host: '127.0.0.1', port: 8787 }),
    database: nonEmpty.default('./data/tokenbroker.db'),
    tokens: z.strictObject({
      audience: nonEmpty,
      default_ttl: lifetime.default(900),
      max_ttl: lifetime.default(3600),
      algorithm: z.enum(['ES256', 'EdDSA', 'RS256']).default('ES256'),
    }),
    resource_servers: z
      .array(z.strictObject({ client_id: nonEmpty, client_secret_sha256: sha256Hex }))
      .default([]),
    ci: z
      .strictObject({
        providers: z.array(provider).default([]),
        policies: z.array(policy).default([]),
      })
      .optional(),
    sso: z
      .strictObject({
        saml: saml.optional(),
        session_ttl: lifetime.default(8 * 3600),
        session_idle_timeout: lifetime.default(3600),
        roles: z.array(role).default([]),
      })
      .optional(),
    rate_limit: z
      .union([
        z.literal(false, {
          message: 'expected false or a mapping with per_client, per_subject and failed_auth',
        }),
        z.strictObject({
          per_client: rate.default({ limit: 300, windowSeconds: 60 }),
          per_subject: rate.default({ limit: 60, windowSeconds: 60 }),
          failed_auth: rate.default({ limit: 20, windowSeconds: 60 }),
        }),
      ])
      .optional(),
    limits: z
      .strictObject({
        // A request (headers and body) must arrive within this, so slow clients cannot hold connections.
        request_timeout: lifetime.default(30),
        max_claim_length: z
          .number({ message: 'expected a number of characters, e.g. 1024' })
          .int({ message: 'expected a whole number of characters, e.g. 1024' })
          .min(1, { message: 'expected at least 1 character' })
          .max(65536, {
            message:
              'expected at most 65536: a CI token is at most 16 KiB, and every compared claim costs up to this much',
          })
          .default(1024),
      })
      .default({ request_timeout: 30, max_claim_length: 1024 }),
    scim: z
      .strictObject({
        token_sha256: sha256Hex,
        // Off: anyone the IdP asserts may log in, and SCIM only takes access away.
        require_provisioned: z.boolean().default(false),
      })
      .optional(),
    metrics: z.strictObject({ token_sha256: sha256Hex.optional() }).optional(),
    audit: z
      .strictObject({ retention: duration.default(400 * 86400) })
      .default({ retention: 400 * 86400 }),
  })
  .superRefine((c, ctx) => {
    if (c.tokens.default_ttl > c.tokens.max_ttl) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokens', 'default_ttl'],
        message: 'default_ttl is longer than max_ttl: shorten it or raise tokens.max_ttl',
      });
    }
    const providers = c.ci?.providers ?? [];
    // Names identify providers, policies and roles in subjects, audit rows and `explain`.
    uniqueNames(ctx, providers, ['ci', 'providers'], 'provider');
    uniqueNames(ctx, c.ci?.policies ?? [], ['ci', 'policies'], 'policy');
    uniqueNames(ctx, c.sso?.roles ?? [], ['sso', 'roles'], 'role');
    c.ci?.policies.forEach((pol, i) => {
      const p = providers.find((x) => x.name === pol.provider);
      if (!p) {
        ctx.addIssue({
          code: 'custom',
          path: ['ci', 'policies', i, 'provider'],
          message: `unknown provider ${JSON.stringify(pol.provider)}: expected one of ${providers.map((x) => x.name).join(', ') || '(none defined in ci.providers)'}`,
        });
      }
    });
  });

export type RawConfig = z.infer<typeof rawConfigSchema>;

function uniqueNames(
  ctx: z.RefinementCtx,
  items: ReadonlyArray<{ name: string }>,
  path: string[],
  what: string,
): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, i, 'name'],
        message: `duplicate ${what} name ${item.name}: give each ${what} its own name`,
      });
    }
    seen.add(item.name);
  });
}

/** GitHub Enterprise Server and self-managed GitLab set `kind` explicitly. */
export function providerKind(issuer: string, kind: ProviderKind | undefined): ProviderKind {
  if (kind) return kind;
  const host = new URL(issuer).host;
  if (host === 'token.actions.githubusercontent.com') return 'github';
  if (host === 'gitlab.com') return 'gitlab';
  return 'generic';
}
