import { nowSeconds, systemClock } from '../shared/clock.js';
import { escapeForTerminal, jsonForTerminal } from '../shared/terminal.js';
import type { IssuedToken, TokenSource } from '../store/types.js';
import { withBroker } from './admin.js';
import type { CliIO } from './io.js';

/** At most this many rows: a list for a person to read; --subject narrows it. */
const LIMIT = 1000;

/**
 * `tokenbroker tokens list`: the tokens alive now (neither expired nor
 * revoked), newest first, with who holds them, their scopes and expiry.
 * Subjects and scopes come from callers (a CI token's claims): escaped, one
 * line per token whatever they hold.
 */
export async function tokensListCommand(
  opts: { config?: string; subject?: string; source?: TokenSource; json?: boolean },
  io: CliIO,
): Promise<void> {
  await withBroker(opts.config, io, async ({ store }) => {
    const now = nowSeconds(systemClock);
    const tokens = await store.listTokens({
      subject: opts.subject,
      source: opts.source,
      activeAt: now,
      limit: LIMIT + 1,
    });
    const shown = tokens.slice(0, LIMIT);
    for (const t of shown) {
      io.stdout(`${opts.json ? jsonForTerminal(summary(t)) : escapeForTerminal(line(t, now))}\n`);
    }
    if (tokens.length > LIMIT) {
      io.stderr(`showing the newest ${LIMIT} live tokens: narrow with --subject or --source\n`);
    }
    if (!opts.json && shown.length === 0) io.stderr('no live tokens match\n');
  });
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

function left(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

function line(t: IssuedToken, now: number): string {
  return [
    `expires ${iso(t.expiresAt)} (in ${left(t.expiresAt - now)})`,
    t.source.padEnd(8),
    t.subject,
    `scope="${t.scopes.join(' ')}"`,
    `jti=${t.jti}`,
    ...(t.parentJti ? [`narrowed-from=${t.parentJti}`] : []),
  ].join('  ');
}

/** What --json prints per token: never its hash, which only ties a token to its audit rows. */
const summary = (t: IssuedToken) => ({
  jti: t.jti,
  subject: t.subject,
  source: t.source,
  scopes: t.scopes,
  client_id: t.clientId,
  issued_at: t.issuedAt,
  expires_at: t.expiresAt,
  parent_jti: t.parentJti,
});
