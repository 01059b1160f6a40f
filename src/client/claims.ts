import { decodeJwt } from 'jose';
import type { ClientError } from './errors.js';
import { escapeForTerminal } from '../shared/terminal.js';

/**
 * The claims of a CI token that a trust policy matches on and that are not
 * secret, to print when the broker refuses it: the user compares them with
 * the policy. The signature is not checked here (the broker does that); this
 * only reads what the token says about the job.
 */
const SHOWN = [
  'iss',
  'aud',
  'sub',
  'repository', // GitHub
  'repository_id',
  'repository_owner_id',
  'project_path', // GitLab
  'project_id',
  'ref',
  'ref_type',
  'ref_protected',
  'workflow', // GitHub
  'job_workflow_ref',
  'environment', // both
  'event_name', // GitHub
  'pipeline_source', // GitLab
] as const;

/** The payload of a JWT, or undefined if it is not one. */
export function peekClaims(jwt: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(jwt);
  } catch {
    return undefined;
  }
}

/**
 * `repository=acme/models, ref=refs/heads/main, ...`. A GitHub job without an
 * environment shows `environment=(none)`, since policies that require one are
 * a common reason for a refusal.
 */
export function describeClaims(claims: Record<string, unknown>): string {
  const github = typeof claims.repository === 'string' && 'event_name' in claims;
  const parts: string[] = [];
  for (const key of SHOWN) {
    const value = claims[key];
    if (value === undefined || value === '') {
      if (key === 'environment' && github) parts.push('environment=(none)');
      continue;
    }
    // Shown in a CI log: a claim must not start a line of its own (a workflow command) or drive the terminal.
    parts.push(
      `${key}=${escapeForTerminal(typeof value === 'string' ? value : JSON.stringify(value))}`,
    );
  }
  return parts.join(', ');
}

/**
 * What to append to a failed exchange: the presented token's claims when the
 * broker refused it (not when it only asked us to slow down), else ''.
 */
export function refusalHint(e: ClientError, jwt: string | undefined): string {
  return e.code === 'refused' && e.details.status !== 429 ? claimsHint(jwt) : '';
}

/** A sentence to append to a refusal, or '' when the token cannot be read. */
export function claimsHint(jwt: string | undefined): string {
  const claims = jwt ? peekClaims(jwt) : undefined;
  if (!claims) return '';
  return (
    `\nThe CI token presented: ${describeClaims(claims)}.` +
    "\nCompare these claims with the broker's trust policies; its operator can run" +
    ' `tokenbroker explain` on such a token to see which condition failed.'
  );
}
