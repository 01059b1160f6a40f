import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import { BrokerError } from '../shared/errors.js';
import type { AuditEvent, IssuedToken, Store } from '../store/types.js';
import { verifyOwnToken, type OwnTokenDeps } from '../tokens/verify.js';
import type { Metrics, RevokedBy } from '../shared/metrics.js';
import type { RequestInfo } from './exchange.js';

/*
 * The four ways a token dies, each with its own audit row: its holder at
 * /revoke (RFC 7009), its owner on the person's page, an operator with
 * `tokenbroker revoke`, an administrator on /admin. Revoking a token revokes every token narrowed from it.
 */

interface RevokeDeps {
  store: Store;
  clock: Clock;
  /** Counts what was revoked; none where nobody scrapes (the CLI). */
  metrics?: Metrics;
}

const REVOKED_BY: Record<'revoke' | 'web', RevokedBy> = { revoke: 'holder', web: 'owner' };

/** The holder presents the token itself: it is its own credential. */
export async function revokeByHolder(
  token: string,
  request: RequestInfo,
  deps: RevokeDeps & OwnTokenDeps,
): Promise<void> {
  const { row } = await verifyOwnToken(token, deps);
  await revoke(deps, row, {
    source: 'revoke',
    reason: 'revoked by its holder at /revoke',
    ...request,
  });
}

/** A person revokes one of their own tokens; anyone else's is not found, not forbidden. */
export async function revokeByOwner(
  subject: string,
  jti: string,
  request: RequestInfo,
  deps: RevokeDeps,
): Promise<void> {
  const row = await deps.store.getToken(jti);
  if (!row || row.subject !== subject) {
    throw new BrokerError(
      'not_found',
      'you have no such token: it may have expired or been revoked already; reload your page to see your active tokens',
    );
  }
  await revoke(deps, row, {
    source: 'web',
    reason: 'revoked by its owner on the web page',
    ...request,
  });
}

/**
 * An operator revokes one token by jti, or every live token of a subject.
 * Returns the jtis revoked now; for a jti, `known` says whether the token
 * exists at all (revoked already, or never issued).
 */
export async function revokeByOperator(
  target: { jti: string } | { subject: string },
  deps: RevokeDeps,
): Promise<{ revoked: string[]; known: boolean }> {
  const now = nowSeconds(deps.clock);
  const audit = {
    time: now,
    event: 'token.revoked',
    outcome: 'success',
    source: 'cli',
    reason: 'revoked by an operator with `tokenbroker revoke`',
  } as const;
  if ('subject' in target) {
    const revoked = await deps.store.revokeSubject(target.subject, now, {
      ...audit,
      subject: target.subject,
    });
    deps.metrics?.tokensRevoked('operator', revoked.length);
    return { revoked, known: true };
  }
  const revoked = await deps.store.revokeToken(target.jti, now, { ...audit, jti: target.jti });
  deps.metrics?.tokensRevoked('operator', revoked.length);
  return {
    revoked,
    known: revoked.length > 0 || (await deps.store.getToken(target.jti)) !== undefined,
  };
}

/**
 * An administrator (a person whose role has `admin: true`) revokes any
 * subject's token on /admin; the row names the token's subject, and the
 * administrator as `detail.actor`.
 */
export async function revokeByAdmin(
  admin: string,
  jti: string,
  request: RequestInfo,
  deps: RevokeDeps,
): Promise<void> {
  const row = await deps.store.getToken(jti);
  if (!row) {
    throw new BrokerError(
      'not_found',
      'there is no such token: it may have expired and been pruned; reload the admin page to see the live tokens',
      { detail: { pageAction: { href: '/admin', label: 'Back to the admin page' } } },
    );
  }
  const now = nowSeconds(deps.clock);
  const revoked = await deps.store.revokeToken(row.jti, now, {
    ...request,
    time: now,
    event: 'token.revoked',
    outcome: 'success',
    source: 'admin',
    reason: 'revoked by an administrator on /admin',
    subject: row.subject,
    scopes: row.scopes,
    tokenSha256: row.tokenSha256,
    jti: row.jti,
    detail: { actor: admin },
  });
  deps.metrics?.tokensRevoked('operator', revoked.length);
}

async function revoke(
  deps: RevokeDeps,
  row: IssuedToken,
  fields: Pick<AuditEvent, 'source' | 'reason' | 'clientAddress' | 'userAgent'> & {
    source: 'revoke' | 'web';
  },
): Promise<void> {
  const now = nowSeconds(deps.clock);
  const revoked = await deps.store.revokeToken(row.jti, now, {
    ...fields,
    time: now,
    event: 'token.revoked',
    outcome: 'success',
    subject: row.subject,
    scopes: row.scopes,
    tokenSha256: row.tokenSha256, // recorded at issue: no need to hash the token again
    jti: row.jti,
  });
  deps.metrics?.tokensRevoked(REVOKED_BY[fields.source], revoked.length);
}
