import type { Provider } from '../config/compile.js';

/**
 * What a CI token says about where it comes from, in each provider's words.
 * Used in the minted token's `ci` claim and in refusals, which name the
 * token's own facts and never a policy's content.
 */
export interface CiIdentity {
  provider: string;
  repository?: string;
  ref?: string;
  workflow?: string;
  environment?: string;
  event?: string;
  run_id?: string;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

export function ciIdentity(provider: Provider, claims: Record<string, unknown>): CiIdentity {
  const id: CiIdentity =
    provider.kind === 'gitlab'
      ? {
          provider: provider.name,
          repository: str(claims.project_path),
          ref: str(claims.ref_path) ?? str(claims.ref),
          workflow: str(claims.ci_config_ref_uri),
          environment: str(claims.environment),
          event: str(claims.pipeline_source),
          run_id: str(claims.pipeline_id),
        }
      : {
          provider: provider.name,
          repository: str(claims.repository),
          ref: str(claims.ref),
          workflow: str(claims.workflow_ref) ?? str(claims.workflow),
          environment: str(claims.environment),
          event: str(claims.event_name),
          run_id: str(claims.run_id),
        };
  return Object.fromEntries(Object.entries(id).filter(([, v]) => v !== undefined)) as CiIdentity;
}

/** "provider github, repository acme/x, ref refs/heads/feat, ..." */
export function describeIdentity(provider: Provider, id: CiIdentity, sub: string): string {
  const parts = [`provider ${id.provider}`];
  const repoWord = provider.kind === 'gitlab' ? 'project' : 'repository';
  if (id.repository) parts.push(`${repoWord} ${id.repository}`);
  if (id.ref) parts.push(`ref ${id.ref}`);
  if (id.workflow) parts.push(`workflow ${id.workflow}`);
  if (id.environment) parts.push(`environment ${id.environment}`);
  if (id.event) parts.push(`event ${id.event}`);
  if (!id.repository) parts.push(`sub ${sub}`);
  return parts.join(', ');
}

/**
 * GitHub's `sub` comes in two forms: `repo:acme/models:...` and, for
 * repositories created or renamed after July 2026, the immutable
 * `repo:acme@123/models@456:...`. Returns the parts, or undefined for a
 * customized template that starts otherwise.
 */
export function parseGithubSub(
  sub: string,
): { owner: string; ownerId?: string; repo: string; repoId?: string; context: string } | undefined {
  const m = /^repo:([^/@:]+)(?:@(\d+))?\/([^/@:]+)(?:@(\d+))?(?::(.*))?$/.exec(sub);
  if (!m) return undefined;
  return {
    owner: m[1]!,
    ...(m[2] ? { ownerId: m[2] } : {}),
    repo: m[3]!,
    ...(m[4] ? { repoId: m[4] } : {}),
    context: m[5] ?? '',
  };
}
