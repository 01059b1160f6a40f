import { nowSeconds } from '../shared/clock.js';
import { BrokerError, isBrokerError, type ErrorCode } from '../shared/errors.js';
import { decideScopes } from '../policy/grants.js';
import type { RateLimits } from '../rate-limit/limits.js';
import type { AuditEvent, TokenSource } from '../store/types.js';
import { sha256Hex } from '../shared/crypto.js';
import { failureCode, type ExchangeEvent, type Metrics } from '../shared/metrics.js';
import type { MintedToken, Minter } from '../tokens/mint.js';
import { DENIAL_BUDGET, RepeatedDenials, boundDenial } from './denial-audit.js';
import type { Asked, Grant, GrantDeps, GrantInput, Verified } from './grant.js';

/** Who is asking, for the audit row. */
export interface RequestInfo {
  clientAddress: string | null;
  userAgent: string | null;
}

export interface ExchangeDeps extends GrantDeps {
  minter: Minter;
  rateLimits: RateLimits | undefined;
  metrics?: Metrics;
}

/** What the refusal's audit row can say: whatever was learnt before it. */
interface Known {
  source: TokenSource;
  asked: Asked;
  verified?: Verified;
  policy?: string;
}

/**
 * Answers that are no refusal worth a row: a rate-limited caller (the flood
 * the limit stops), and a device polling for a request nobody has decided
 * yet (every 5 s for up to 10 minutes; a row each would fill the disk while
 * saying nothing).
 */
const NOT_RECORDED: ReadonlySet<ErrorCode> = new Set([
  'rate_limited',
  'authorization_pending',
  'slow_down',
]);

/**
 * Every token the broker issues comes from here, whatever the grant: a CI
 * token exchanged, a broker token narrowed, a person's page, a device code.
 * One run reads top to bottom: verify the subject, rate-limit it, entitle,
 * decide scopes and lifetime, mint, and record the outcome. An issue is recorded by the Minter
 * in the token's own transaction; a refusal is recorded here, bounded, before
 * it reaches the caller.
 */
export class Exchange {
  private readonly repeats = new RepeatedDenials();

  constructor(private readonly deps: ExchangeDeps) {}

  async run<In extends GrantInput, V extends Verified>(
    grant: Grant<In, V>,
    input: In,
    request: RequestInfo,
  ): Promise<MintedToken> {
    const { deps } = this;
    const known: Known = { source: grant.source, asked: input.asked };
    try {
      const verified = await grant.verify(input, deps);
      known.verified = verified;
      const asked = verified.asked ?? input.asked;
      known.asked = asked;
      await deps.rateLimits?.subject(verified.subject);

      const entitled = grant.entitle(verified, deps);
      const named = grant.names === 'policies';
      // A scope refusal names every policy or role weighed; what follows, those that granted.
      if (named) known.policy = entitled.map((g) => g.source).join(',');
      const decision = decideScopes(entitled, { ...asked, reader: grant.reader });
      const policy = decision.sources.join(',');
      if (named) known.policy = policy;
      const ttl = decideTtl(asked.ttlSeconds, deps.config.tokens, decision.maxTtl);

      const outcome = await deps.minter.mint({
        subject: verified.subject,
        scopes: decision.scopes,
        ttlSeconds: ttl,
        clientId: verified.clientId,
        source: grant.source,
        parentJti: verified.parentJti,
        claims: verified.tokenClaims,
        once: verified.once,
        audit: {
          ...request,
          source: grant.source,
          ...(named ? { policy } : {}),
          detail: verified.detail,
        },
      });
      if (outcome.issued) {
        deps.metrics?.exchange(counted(known, 'issued'));
        return outcome.issued;
      }
      if (outcome.refused === 'parent_revoked')
        throw new BrokerError('token_revoked', 'token has been revoked: get a new one');
      if (!grant.replayed)
        throw new Error(
          `grant ${grant.source} set a one-time key without a refusal for its replay`,
        );
      throw grant.replayed();
    } catch (e) {
      deps.metrics?.exchange(counted(known, outcomeOf(e), failureCode(e)));
      if (isBrokerError(e) && e.status < 500 && !NOT_RECORDED.has(e.code)) {
        await deps.store.appendAudit(await this.denial(known, input, request, e));
      }
      throw e;
    }
  }

  /**
   * The `token.denied` row, bounded: about 1 KiB for a request that proved
   * nothing, a few KiB of per-policy detail for a verified subject, and a
   * small counted row for each repeat of an identical refusal.
   */
  private async denial(
    known: Known,
    input: GrantInput,
    request: RequestInfo,
    e: BrokerError,
  ): Promise<AuditEvent> {
    const time = nowSeconds(this.deps.clock);
    const tokenSha256 =
      input.subjectToken === undefined ? null : await sha256Hex(input.subjectToken);
    const reason = `${e.code}: ${e.message}`;
    const { scopes } = known.asked;
    const row: AuditEvent = {
      time,
      event: 'token.denied',
      outcome: 'denied',
      subject: known.verified?.subject ?? null,
      source: known.source,
      policy: known.policy || null,
      scopes: scopes ?? null,
      reason,
      ...request,
      tokenSha256,
      detail: detailOf(known.verified?.detail, e.detail),
    };
    // Without a presented token (a person's page) every refusal is its own: the person is known.
    const repeat =
      tokenSha256 === null
        ? undefined
        : this.repeats.note(
            await sha256Hex(`${tokenSha256}\n${reason}\n${(scopes ?? []).join(' ')}`),
            time,
          );
    if (repeat) {
      return boundDenial(
        {
          ...row,
          scopes: scopes ? [`…[${scopes.length} scopes, as in the first]`] : null,
          detail: { repeat: repeat.count, first_time: repeat.first },
        },
        DENIAL_BUDGET.anonymous,
      );
    }
    return boundDenial(row, row.subject ? DENIAL_BUDGET.signed : DENIAL_BUDGET.anonymous);
  }
}

/** A refusal (4xx), a device's wait (not refused, not recorded), or a failure of ours. */
function outcomeOf(e: unknown): ExchangeEvent['outcome'] {
  if (!isBrokerError(e) || e.status >= 500) return 'error';
  return e.code === 'authorization_pending' || e.code === 'slow_down' ? 'pending' : 'denied';
}

/** The metric's labels: only the grant, a configured provider's name, the outcome and a code. */
function counted(
  known: Known,
  outcome: ExchangeEvent['outcome'],
  reason?: ExchangeEvent['reason'],
): ExchangeEvent {
  const provider = known.source !== 'ci' ? 'none' : (known.verified?.provider ?? 'unknown');
  return { grant: known.source, provider, outcome, ...(outcome === 'issued' ? {} : { reason }) };
}

function detailOf(
  ...parts: Array<Record<string, unknown> | undefined>
): Record<string, unknown> | undefined {
  const merged = Object.assign({}, ...parts) as Record<string, unknown>;
  return Object.keys(merged).length ? merged : undefined;
}

/** TTL = min(requested or the default, the granting policies' or roles' cap, the global max). */
export function decideTtl(
  requested: number | undefined,
  tokens: { defaultTtl: number; maxTtl: number },
  grantMax: number | undefined,
): number {
  return Math.min(requested ?? tokens.defaultTtl, tokens.maxTtl, grantMax ?? Infinity);
}
