/**
 * What the broker SHOULD decide, written again from the meaning of the test
 * config (CI_POLICIES, ROLES) and SPEC sections 2-3, without the broker's
 * code: which policies a claim set matches, what they grant, and whether a
 * scope is covered. The fuzzer compares the broker's answers with these.
 */

/** SPEC 2: "longer claims never match a policy condition". */
const MAX_CLAIM_LENGTH = 1024;

/** A claim compared as a string: strings as they are, booleans as "true"/"false", nothing else. */
function str(claims: Record<string, unknown>, name: string): string | undefined {
  if (!Object.hasOwn(claims, name)) return undefined;
  const v = claims[name];
  const s = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : undefined;
  return s !== undefined && s.length <= MAX_CLAIM_LENGTH ? s : undefined;
}

export interface ExpectedGrant {
  policy: string;
  grant: string[];
  /** Seconds. */
  maxTtl: number | undefined;
}

/** The policies of CI_POLICIES a token of `provider` with these claims matches. */
export function matchedPolicies(
  provider: 'github' | 'gitlab',
  claims: Record<string, unknown>,
): ExpectedGrant[] {
  const out: ExpectedGrant[] = [];
  const c = (n: string) => str(claims, n);
  if (provider === 'github') {
    const ref = c('ref');
    const jwr = c('job_workflow_ref');
    if (
      c('repository') === 'acme/models' &&
      c('repository_id') === '860122172' &&
      ref !== undefined &&
      (ref === 'refs/heads/main' || /^refs\/tags\/v[^/]*$/.test(ref)) &&
      jwr !== undefined &&
      jwr.startsWith('acme/models/.github/workflows/release.yml@')
    ) {
      out.push({
        policy: 'models-release',
        grant: ['write:models/acme/*', 'read:datasets/acme/**'],
        maxTtl: 1800,
      });
    }
    const actor = c('actor');
    const workflow = c('workflow');
    // REDOS_PROBE, written without backtracking: `(a+)+b`, and `*b*b*b*b*b*b*b*b*c`.
    if (
      c('repository') === 'acme/redos' &&
      actor !== undefined &&
      /^a+b$/.test(actor) &&
      workflow !== undefined &&
      !workflow.includes('/') &&
      workflow.endsWith('c') &&
      [...workflow.slice(0, -1)].filter((ch) => ch === 'b').length >= 8
    ) {
      out.push({ policy: 'redos-probe', grant: ['read:models/acme/redos'], maxTtl: undefined });
    }
    const repo = c('repository');
    if (repo !== undefined && /^acme\/[^/]*$/.test(repo) && ref === 'refs/heads/main') {
      out.push({ policy: 'acme-readers', grant: ['read:models/acme/**'], maxTtl: undefined });
    }
  } else if (
    c('project_path') === 'acme/models' &&
    c('ref_protected') === 'true' &&
    c('ref_type') === 'branch'
  ) {
    out.push({ policy: 'gitlab-models', grant: ['write:models/acme/gl-*'], maxTtl: undefined });
  }
  return out;
}

/** The role grants of the SAML test config (every person the fuzzer logs in is an ml-engineer). */
export const ROLE_GRANT = ['read:**', 'write:models/acme/*'];

/** SPEC 3 and the scope rules: `<permission>:<resource>`, printable path-like resources. */
const SCOPE_GRAMMAR = /^(\*|[a-z][a-z0-9_-]{0,31}):([A-Za-z0-9._~@+=*/-]{1,200})$/;

export function scopeIsWellFormed(scope: string): boolean {
  const m = SCOPE_GRAMMAR.exec(scope);
  if (!m) return false;
  return m[2]!.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** A glob as SPEC 2 defines it, as a regex: `*` no slash, `**` anything. */
function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === '*') {
      let n = 1;
      while (glob[i + 1] === '*') {
        i++;
        n++;
      }
      re += n > 1 ? '.*' : '[^/]*';
    } else {
      re += glob[i]!.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

/**
 * Concrete strings a scope pattern stands for. If the broker says a grant
 * covers a pattern, every one of these must be matched by that grant; one
 * that is not is a proof the broker granted too much.
 */
function expansions(resource: string): string[] {
  const fills = [
    ['', ''],
    ['x', 'x'],
    ['zz9', 'a/b'],
    ['..x', '../../etc'],
  ];
  return fills.map(([one, two]) =>
    resource.replace(/\*+/g, (stars) => (stars.length > 1 ? two! : one!)),
  );
}

/** Is every expansion of `scope` matched by one of `grants`? A necessary condition of coverage. */
export function plausiblyCovered(grants: readonly string[], scope: string): boolean {
  const i = scope.indexOf(':');
  if (i < 0) return false;
  const perm = scope.slice(0, i);
  const resource = scope.slice(i + 1);
  return expansions(resource).every((r) =>
    grants.some((g) => {
      const j = g.indexOf(':');
      const gp = g.slice(0, j);
      // A `*` permission in a request is a wildcard too: only a `*` grant covers it.
      const permOk = gp === '*' || (gp === perm && perm !== '*');
      return permOk && globRegex(g.slice(j + 1)).test(r);
    }),
  );
}

/** SPEC 4: `ns/name` is a model, `datasets/ns/name` and `spaces/ns/name` the other kinds. */
export function normalizedResource(resource: string): string | undefined {
  const seg = /^[A-Za-z0-9._~@+=-]+$/;
  const parts = resource.split('/');
  if (parts.some((p) => !seg.test(p) || p === '.' || p === '..')) return undefined;
  if (parts.length === 2) return `models/${resource}`;
  if (parts.length === 3 && ['models', 'datasets', 'spaces'].includes(parts[0]!)) return resource;
  return undefined;
}
