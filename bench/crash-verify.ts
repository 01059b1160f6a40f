/**
 * The crash proof's checks: what the client was told against what the SQLite
 * file holds (read directly, read-only, while the broker is dead), and against
 * what the restarted broker answers over HTTP.
 */
import Database from 'better-sqlite3';
import { exchangeBody, formPost, receive, type CiUse, type Ledger } from './crash-load.js';

export interface FileCheck {
  received: number;
  found: number;
  missing: string[];
  revocationsAnswered: number;
  holding: number;
  lost: string[];
  /** Tokens narrowed from a token whose revocation answered 200: they must be revoked too. */
  descendants: number;
  descendantsLost: string[];
  ciAnswered: number;
  guardMissing: string[];
  /** CI exchanges of this round whose answer never came: issued (all rows) or not consumed (none). */
  inFlightIssued: number;
  inFlightNotConsumed: number;
  halfDone: string[];
  /** Narrowings of this round whose answer never came: issued anyway, or not. */
  narrowInFlightIssued: number;
  narrowInFlightNot: number;
  revocationsInFlightHeld: number;
  revocationsInFlightNot: number;
}

/** What became of a CI exchange whose answer never arrived, decided from the file. */
export const fates = new WeakMap<CiUse, 'issued' | 'not_consumed'>();

/** Every received jti below `jti` in the narrowing tree, as the client knows it. */
export function descendantsOf(ledger: Ledger, jti: string): string[] {
  const children = new Map<string, string[]>();
  for (const r of ledger.received.values())
    if (r.parentJti) children.set(r.parentJti, [...(children.get(r.parentJti) ?? []), r.jti]);
  const out: string[] = [];
  const walk = (j: string) => {
    for (const c of children.get(j) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(jti);
  return out;
}

export function checkFile(path: string, ledger: Ledger, round: number): FileCheck {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tokenRow = db.prepare('SELECT token_sha256, revoked_at FROM issued_tokens WHERE jti = ?');
    const issuedAudit = db.prepare(
      "SELECT 1 FROM audit_events WHERE event = 'token.issued' AND jti = ? AND token_sha256 = ?",
    );
    const guard = db.prepare('SELECT 1 FROM replay_guard WHERE key = ?');
    const issuedForRun = db.prepare(
      "SELECT jti FROM audit_events WHERE event = 'token.issued' AND json_extract(detail, '$.ci.run_id') = ?",
    );
    const revokedInAudit = new Set(
      db
        .prepare(
          "SELECT j.value AS jti FROM audit_events a, json_each(a.detail, '$.revoked') j WHERE a.event = 'token.revoked'",
        )
        .all()
        .map((r) => (r as { jti: string }).jti),
    );
    const row = (jti: string) =>
      tokenRow.get(jti) as { token_sha256: string; revoked_at: number | null } | undefined;

    const c: FileCheck = {
      received: ledger.received.size,
      found: 0,
      missing: [],
      revocationsAnswered: 0,
      holding: 0,
      lost: [],
      descendants: 0,
      descendantsLost: [],
      ciAnswered: 0,
      guardMissing: [],
      inFlightIssued: 0,
      inFlightNotConsumed: 0,
      halfDone: [],
      narrowInFlightIssued: 0,
      narrowInFlightNot: 0,
      revocationsInFlightHeld: 0,
      revocationsInFlightNot: 0,
    };
    for (const r of ledger.received.values()) {
      const ok = row(r.jti)?.token_sha256 === r.sha256 && issuedAudit.get(r.jti, r.sha256);
      if (ok) c.found++;
      else c.missing.push(r.jti);
    }
    const revoked = (jti: string) => row(jti)?.revoked_at != null && revokedInAudit.has(jti);
    for (const rev of ledger.revocations) {
      if (rev.outcome === 'in_flight') {
        if (rev.round !== round) continue;
        if (revoked(rev.jti)) c.revocationsInFlightHeld++;
        else c.revocationsInFlightNot++;
        continue;
      }
      c.revocationsAnswered++;
      if (revoked(rev.jti)) c.holding++;
      else c.lost.push(rev.jti);
      for (const d of descendantsOf(ledger, rev.jti)) {
        c.descendants++;
        if (!revoked(d)) c.descendantsLost.push(d);
      }
    }
    for (const use of ledger.ci) {
      const consumed = guard.get(`ci:github:${use.jti}`) !== undefined;
      if (use.outcome === 'answered') {
        c.ciAnswered++;
        if (!consumed) c.guardMissing.push(use.runId);
        continue;
      }
      if (use.round !== round) continue;
      const issued = issuedForRun.all(use.runId) as { jti: string }[];
      const rowsThere = issued.length === 1 && row(issued[0]!.jti) !== undefined;
      if (consumed && rowsThere) {
        c.inFlightIssued++;
        fates.set(use, 'issued');
      } else if (!consumed && issued.length === 0) {
        c.inFlightNotConsumed++;
        fates.set(use, 'not_consumed');
      } else {
        c.halfDone.push(`run ${use.runId}: guard ${consumed}, issue rows ${issued.length}`);
      }
    }
    const children = db.prepare('SELECT jti FROM issued_tokens WHERE parent_jti = ?');
    const lost = ledger.narrowings.filter((n) => n.round === round && n.outcome === 'in_flight');
    for (const parent of new Set(lost.map((n) => n.parentJti)))
      for (const { jti } of children.all(parent) as { jti: string }[])
        if (!ledger.received.has(jti)) c.narrowInFlightIssued++;
    c.narrowInFlightNot = lost.length - c.narrowInFlightIssued;
    return c;
  } finally {
    db.close();
  }
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export interface HttpCheck {
  replaysTried: number;
  replaysRefused: number;
  retriedNotConsumed: number;
  retriesIssued: number;
  introspectedRevoked: number;
  reportedInactive: number;
  introspectedLive: number;
  reportedActive: number;
}

/**
 * After the restart: every CI token of this round that the broker consumed
 * (answered, or issued with the answer lost) is refused as a replay; those it
 * never consumed are sent again, as a client retrying would, and must issue;
 * /introspect calls every revoked token inactive and this round's others active.
 */
export async function checkHttp(o: {
  url: string;
  introspectAuth: string;
  ledger: Ledger;
  round: number;
}): Promise<HttpCheck> {
  const { ledger, round } = o;
  const c: HttpCheck = {
    replaysTried: 0,
    replaysRefused: 0,
    retriedNotConsumed: 0,
    retriesIssued: 0,
    introspectedRevoked: 0,
    reportedInactive: 0,
    introspectedLive: 0,
    reportedActive: 0,
  };
  const uses = ledger.ci.filter((u) => u.round === round);
  await pool(uses, 16, async (use) => {
    const res = await fetch(`${o.url}/token`, formPost(exchangeBody(use.token)));
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (use.outcome === 'answered' || fates.get(use) === 'issued') {
      c.replaysTried++;
      if (res.status === 400 && body.error === 'invalid_grant') c.replaysRefused++;
      else ledger.unexpected.push(`replay of run ${use.runId} after restart: ${res.status}`);
    } else if (fates.get(use) === 'not_consumed') {
      c.retriedNotConsumed++;
      if (res.status === 200 && body.access_token) {
        c.retriesIssued++;
        use.outcome = 'answered';
        receive(ledger, body.access_token, null, round);
      } else ledger.unexpected.push(`retry of unconsumed run ${use.runId}: ${res.status}`);
    }
  });

  const introspect = async (token: string) => {
    const res = await fetch(
      `${o.url}/introspect`,
      formPost({ token }, { authorization: o.introspectAuth }),
    );
    if (res.status !== 200) throw new Error(`/introspect answered ${res.status}`);
    return ((await res.json()) as { active?: boolean }).active === true;
  };
  const revoked = new Set<string>();
  for (const rev of ledger.revocations)
    if (rev.outcome === 'answered')
      [rev.jti, ...descendantsOf(ledger, rev.jti)].forEach((j) => revoked.add(j));
  // Tokens under a revocation whose answer was lost may go either way: not checked as live.
  const unsure = new Set<string>();
  for (const rev of ledger.revocations)
    if (rev.outcome === 'in_flight')
      [rev.jti, ...descendantsOf(ledger, rev.jti)].forEach((j) => unsure.add(j));
  await pool([...ledger.received.values()], 16, async (r) => {
    if (revoked.has(r.jti)) {
      c.introspectedRevoked++;
      if (!(await introspect(r.token))) c.reportedInactive++;
      else ledger.unexpected.push(`revoked token ${r.jti} is active after restart`);
    } else if (r.round === round && !unsure.has(r.jti)) {
      c.introspectedLive++;
      if (await introspect(r.token)) c.reportedActive++;
      else ledger.unexpected.push(`live token ${r.jti} is inactive after restart`);
    }
  });
  return c;
}
