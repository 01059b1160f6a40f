import { systemClock, nowSeconds } from '../shared/clock.js';
import type { Config } from '../config/compile.js';
import { parseDuration } from '../protocol/duration.js';
import { loadConfigFile, resolveConfigPath } from '../node/config-file.js';
import { openExistingStore } from '../node/open.js';
import { DatabaseError } from '../node/sqlite/open.js';
import type { SqliteStore } from '../node/sqlite/store.js';
import type { StoredAuditEvent } from '../store/types.js';
import { rotateKey } from '../tokens/keys.js';
import { revokeByOperator } from '../exchange/revoke.js';
import { CliError, type CliIO } from './io.js';
import { escapeForTerminal, jsonForTerminal } from '../shared/terminal.js';

/**
 * Runs an operator's command on the broker's existing database: never creates
 * one (see openExistingStore), and warns on stderr about a schema that differs
 * from the migrations' before going on.
 */
export async function withBroker<T>(
  configOpt: string | undefined,
  io: CliIO,
  fn: (b: { store: SqliteStore; config: Config }) => Promise<T>,
): Promise<T> {
  const { config } = loadConfigFile(resolveConfigPath(configOpt, io.cwd, false), io.env);
  let store: SqliteStore;
  try {
    store = openExistingStore(config, { cwd: io.cwd });
  } catch (e) {
    if (e instanceof DatabaseError) throw new CliError(e.message);
    throw e;
  }
  for (const problem of store.schemaProblems) io.stderr(`tokenbroker: WARNING: ${problem}\n`);
  try {
    return await fn({ store, config });
  } finally {
    await store.close();
  }
}

/** Rows read per query by `audit`. */
export const AUDIT_PAGE = 1000;

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

export async function keysCommand(
  action: string,
  opts: { config?: string },
  io: CliIO,
): Promise<void> {
  await withBroker(opts.config, io, async ({ store, config }) => {
    const now = nowSeconds(systemClock);
    if (action === 'rotate') {
      const key = await rotateKey(store, config.tokens.algorithm, now);
      io.stdout(
        `new signing key ${key.kid} (${key.alg}); the previous key stays in /jwks until the tokens it signed expire\n` +
          'running servers pick it up within 30s\n',
      );
      return;
    }
    if (action === 'prune') {
      const kids = await store.pruneKeys(now);
      io.stdout(
        kids.length
          ? kids.map((k) => `removed ${k}\n`).join('')
          : 'nothing to prune: every retired key still verifies a live token\n',
      );
      return;
    }
    const keys = await store.listKeys();
    for (const k of keys) {
      const state =
        k.retiredAt === null
          ? 'current'
          : k.lastTokenExpiry !== null && k.lastTokenExpiry > now
            ? `retired ${iso(k.retiredAt)}, in /jwks until ${iso(k.lastTokenExpiry)}`
            : `retired ${iso(k.retiredAt)}, prunable`;
      const line = `${k.kid}  ${k.alg.padEnd(5)}  created ${iso(k.createdAt)}  ${state}`;
      io.stdout(`${escapeForTerminal(line)}\n`);
    }
  });
}

export async function auditCommand(
  opts: {
    config?: string;
    since?: string;
    subject?: string;
    outcome?: 'success' | 'denied';
    json?: boolean;
  },
  io: CliIO,
): Promise<void> {
  let since: number | undefined;
  if (opts.since !== undefined) {
    const s = parseDuration(opts.since);
    if (s === undefined)
      throw new CliError(`--since ${opts.since} is not a duration: use e.g. 90s, 15m, 8h, 1d`, 2);
    since = nowSeconds(systemClock) - s;
  }
  await withBroker(opts.config, io, async ({ store }) => {
    // The whole log, a page at a time in id order: an export of millions of rows
    // never holds more than one page in memory.
    let afterId: number | undefined;
    let printed = 0;
    for (;;) {
      const page = await store.queryAudit({
        since,
        subject: opts.subject,
        outcome: opts.outcome,
        afterId,
        limit: AUDIT_PAGE,
      });
      for (const e of page) io.stdout(`${opts.json ? jsonForTerminal(e) : formatEvent(e)}\n`);
      printed += page.length;
      if (page.length < AUDIT_PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
    if (!opts.json && printed === 0) io.stderr('no audit events match\n');
  });
}

/**
 * Audit fields hold what callers sent (a CI token's sub, a user agent, an
 * IdP's address): one line per event, whatever they contain, and nothing
 * that can drive the operator's terminal.
 */
function formatEvent(e: StoredAuditEvent): string {
  return escapeForTerminal(formatFields(e));
}

function formatFields(e: StoredAuditEvent): string {
  const parts = [iso(e.time), e.event.padEnd(13), e.outcome.padEnd(7), e.subject ?? '-'];
  if (e.policy) parts.push(`policy=${e.policy}`);
  if (e.scopes?.length) parts.push(`scope="${e.scopes.join(' ')}"`);
  if (e.jti) parts.push(`jti=${e.jti}`);
  if (e.clientAddress) parts.push(`from=${e.clientAddress}`);
  if (e.reason) parts.push(`reason="${e.reason}"`);
  return parts.join('  ');
}

export async function revokeCommand(
  opts: { config?: string; jti?: string; subject?: string },
  io: CliIO,
): Promise<void> {
  if (!opts.jti === !opts.subject)
    throw new CliError('give exactly one of --jti J or --subject S', 2);
  await withBroker(opts.config, io, async ({ store }) => {
    const { revoked: jtis, known } = await revokeByOperator(
      opts.jti ? { jti: opts.jti } : { subject: opts.subject! },
      { store, clock: systemClock },
    );
    if (opts.jti && jtis.length === 0) {
      const jti = escapeForTerminal(opts.jti);
      if (!known)
        throw new CliError(`no token with jti ${jti}: check it with \`tokenbroker audit\``);
      io.stdout(`token ${jti} was already revoked\n`);
      return;
    }
    const list = jtis.length ? `: ${escapeForTerminal(jtis.join(' '))}` : '';
    io.stdout(`revoked ${jtis.length} token${jtis.length === 1 ? '' : 's'}${list}\n`);
    if (jtis.length) {
      io.stdout(
        'they are inactive in /introspect at once; offline verifiers accept them until they expire\n',
      );
    }
  });
}
