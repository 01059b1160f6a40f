import type { Config, Rate } from '../config/compile.js';
import type { Trust } from '../policy/compile.js';
import { formatDuration } from '../protocol/duration.js';
import { escapeForTerminal } from '../shared/terminal.js';

/**
 * The human summary `tokenbroker config check` prints. Each line is escaped as
 * one field: names and patterns come from the file and its environment
 * variables, and one of them must not add a line or drive the terminal.
 */
export function summarizeConfig(c: Config, trust: Trust, path: string): string {
  const lines: string[] = [];
  const ttl = (s: number | undefined) => (s === undefined ? '-' : formatDuration(s));
  const rate = (r: Rate) => `${r.limit}/${ttl(r.windowSeconds)}`;
  lines.push(`config ${path} is valid`);
  lines.push('');
  lines.push(`issuer     ${c.issuer}`);
  lines.push(`audience   ${c.tokens.audience}`);
  lines.push(
    `tokens     ${c.tokens.algorithm}, default ttl ${ttl(c.tokens.defaultTtl)}, max ttl ${ttl(c.tokens.maxTtl)}`,
  );
  lines.push(`database   ${c.database}`);
  lines.push(
    `rate limit ${c.rateLimit ? `${rate(c.rateLimit.perClient)} per client, ${rate(c.rateLimit.perSubject)} per subject, ${rate(c.rateLimit.failedAuth)} failed introspection logins per address and client` : 'off'}`,
  );
  lines.push(
    `limits     request timeout ${ttl(c.limits.requestTimeoutSeconds)}, claims over ${c.limits.maxClaimLength} characters never match`,
  );
  lines.push(
    `introspection clients: ${c.resourceServers.map((r) => r.clientId).join(', ') || '(none: /introspect refuses everyone)'}`,
  );
  lines.push('');
  lines.push(`CI providers (${c.ci.providers.length})`);
  for (const p of c.ci.providers) {
    lines.push(`  ${p.name} [${p.kind}] ${p.issuer}`);
    lines.push(`    accepts aud ${p.audiences.join(', ')}${p.strictAudience ? ' (strict)' : ''}`);
  }
  lines.push('');
  lines.push(`CI trust policies (${trust.policies.length})`);
  for (const p of trust.policies) {
    lines.push(`  ${p.name} (provider ${p.provider}, max ttl ${ttl(p.maxTtl ?? c.tokens.maxTtl)})`);
    for (const cond of p.conditions) lines.push(`    when ${cond.claim} is ${cond.expected}`);
    lines.push(`    grants ${p.grant.join(' ')}`);
  }
  const { roles } = trust;
  lines.push('');
  lines.push(`SSO roles (${roles.length})${c.sso?.saml ? '' : ' (no SAML IdP configured)'}`);
  for (const r of roles) {
    lines.push(`  ${r.name} (max ttl ${ttl(r.maxTtl ?? c.tokens.maxTtl)})`);
    for (const cond of r.conditions) lines.push(`    when ${cond.claim} is ${cond.expected}`);
    lines.push(`    grants ${r.grant.join(' ')}`);
  }
  return lines.map((line) => escapeForTerminal(line)).join('\n') + '\n';
}
