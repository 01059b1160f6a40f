/**
 * One round of the crash proof's load: concurrent CI exchanges, narrowings and
 * revocations against the broker process, each answer written down, until
 * the round's number of received tokens is reached; then SIGKILL, with the
 * other requests still in flight.
 */
import { createHash } from 'node:crypto';
import type { TestIssuer } from '../test/helpers/oidc-issuer.js';
import { SCOPE_NARROW } from './crash-broker.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

/** A broker token the client holds: it answered 200 with it. */
export interface Received {
  token: string;
  jti: string;
  sha256: string;
  parentJti: string | null;
  round: number;
}

/** A CI token sent to /token, and what became of it. */
export interface CiUse {
  token: string;
  /** The CI token's jti: the broker's replay guard key is `ci:github:<jti>`. */
  jti: string;
  /** Unique per CI token; the audit row carries it (detail.ci.run_id). */
  runId: string;
  round: number;
  outcome: 'answered' | 'in_flight';
}

/** A narrowing sent to /token; its token, if answered, is in `received`. */
export interface Narrowing {
  parentJti: string;
  round: number;
  outcome: 'answered' | 'in_flight';
}

export interface Revocation {
  jti: string;
  round: number;
  outcome: 'answered' | 'in_flight';
}

/** Everything the client saw, over all rounds. */
export interface Ledger {
  received: Map<string, Received>;
  ci: CiUse[];
  narrowings: Narrowing[];
  revocations: Revocation[];
  /** jtis sent to /revoke (answered or not): no longer narrowed or revoked again. */
  revoking: Set<string>;
  /** Answers the proof did not expect, with why: any of them fails the run. */
  unexpected: string[];
}

export const newLedger = (): Ledger => ({
  received: new Map(),
  ci: [],
  narrowings: [],
  revocations: [],
  revoking: new Set(),
  unexpected: [],
});

interface Kinds {
  exchange: number;
  narrow: number;
  revoke: number;
}

export interface RoundLoad {
  killAfter: number;
  /** Tokens received this round, answers read after the kill signal included. */
  received: number;
  inFlightAtKill: Kinds;
  /** Of those, the requests whose answer had left the broker before it died. */
  answeredAfterKill: Kinds;
  narrowRefused: number;
  loadMs: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function tokenJti(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    jti?: unknown;
  };
  if (typeof payload.jti !== 'string') throw new Error('a token without a jti');
  return payload.jti;
}

export const formPost = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(body).toString(),
});

export const exchangeBody = (ciToken: string) => ({
  grant_type: EXCHANGE,
  subject_token: ciToken,
  subject_token_type: ID_TOKEN,
});

export function receive(ledger: Ledger, token: string, parentJti: string | null, round: number) {
  const jti = tokenJti(token);
  ledger.received.set(jti, { token, jti, sha256: sha256(token), parentJti, round });
}

export interface CiSource {
  next(): Promise<{ token: string; jti: string; runId: string }>;
}

/** Fresh GitHub-shaped CI tokens, each with its own jti and run_id, valid long enough for a run. */
export function ciSource(issuer: TestIssuer, audience: string): CiSource {
  let runs = 0;
  return {
    async next() {
      const runId = `crash-${++runs}`;
      const token = await issuer.github({ aud: audience, run_id: runId }, { ttl: 900 });
      return { token, jti: tokenJti(token), runId };
    },
  };
}

/**
 * Drives `concurrency` workers until `killAfter` tokens were received in this
 * round, then calls `kill` at once (from the answer's own callback, so the
 * other workers' requests are still in flight) and waits for every request
 * to settle. A safety timer kills anyway after `maxMs`.
 */
export async function loadRound(o: {
  url: string;
  ledger: Ledger;
  round: number;
  concurrency: number;
  killAfter: number;
  maxMs: number;
  ci: CiSource;
  kill: () => void;
}): Promise<RoundLoad> {
  const { ledger, round } = o;
  let killed = false;
  let received = 0;
  const inFlight = { exchange: 0, narrow: 0, revoke: 0 };
  let atKill = { ...inFlight };
  const lateAnswers = { exchange: 0, narrow: 0, revoke: 0 };
  // Counted out of flight when the answer is read, before it can trigger the kill.
  const answered = (kind: keyof Kinds) => {
    inFlight[kind]--;
    if (killed) lateAnswers[kind]++;
  };
  const unanswered = (kind: keyof Kinds, what: string, e: unknown) => {
    inFlight[kind]--;
    // A request that failed without an answer before the kill is a broken proof, not a crash.
    if (!killed) ledger.unexpected.push(`${what}: no answer before the kill (${String(e)})`);
  };
  let narrowRefused = 0;
  const start = performance.now();

  const killNow = () => {
    if (killed) return;
    killed = true;
    atKill = { ...inFlight };
    o.kill();
  };
  const safety = setTimeout(killNow, o.maxMs);
  const gotToken = (token: string, parentJti: string | null) => {
    receive(ledger, token, parentJti, round);
    if (++received >= o.killAfter) killNow();
  };

  async function exchange() {
    const ci = await o.ci.next();
    if (killed) return;
    const use: CiUse = { ...ci, round, outcome: 'in_flight' };
    ledger.ci.push(use);
    inFlight.exchange++;
    try {
      const res = await fetch(`${o.url}/token`, formPost(exchangeBody(ci.token)));
      const body = (await res.json()) as { access_token?: string; error?: string };
      use.outcome = 'answered';
      answered('exchange');
      if (res.status === 200 && body.access_token) gotToken(body.access_token, null);
      else ledger.unexpected.push(`CI exchange answered ${res.status} ${body.error ?? ''}`);
    } catch (e) {
      unanswered('exchange', 'CI exchange', e);
    }
  }

  const pickHeld = () => {
    const all = [...ledger.received.values()].filter(
      (r) => r.round === round && !ledger.revoking.has(r.jti),
    );
    return all[Math.floor(Math.random() * all.length)];
  };

  const ancestorRevoking = (r: Received | undefined): boolean =>
    r !== undefined &&
    (ledger.revoking.has(r.jti) ||
      (r.parentJti !== null && ancestorRevoking(ledger.received.get(r.parentJti))));

  async function narrow() {
    const parent = pickHeld();
    if (!parent) return exchange();
    const sent: Narrowing = { parentJti: parent.jti, round, outcome: 'in_flight' };
    ledger.narrowings.push(sent);
    inFlight.narrow++;
    try {
      const res = await fetch(
        `${o.url}/token`,
        formPost({
          grant_type: EXCHANGE,
          subject_token: parent.token,
          subject_token_type: ACCESS_TOKEN,
          scope: SCOPE_NARROW,
        }),
      );
      const body = (await res.json()) as { access_token?: string; error?: string };
      sent.outcome = 'answered';
      answered('narrow');
      if (res.status === 200 && body.access_token) gotToken(body.access_token, parent.jti);
      // An ancestor's revocation may land first: then the parent is revoked and narrowing is refused.
      else if (res.status === 400 && body.error === 'invalid_grant' && ancestorRevoking(parent))
        narrowRefused++;
      else ledger.unexpected.push(`narrowing answered ${res.status} ${body.error ?? ''}`);
    } catch (e) {
      unanswered('narrow', 'narrowing', e);
    }
  }

  async function revoke() {
    const held = pickHeld();
    if (!held) return exchange();
    ledger.revoking.add(held.jti);
    const rev: Revocation = { jti: held.jti, round, outcome: 'in_flight' };
    ledger.revocations.push(rev);
    inFlight.revoke++;
    try {
      const res = await fetch(`${o.url}/revoke`, formPost({ token: held.token }));
      await res.arrayBuffer();
      answered('revoke');
      if (res.status === 200) rev.outcome = 'answered';
      else ledger.unexpected.push(`revocation answered ${res.status}`);
    } catch (e) {
      unanswered('revoke', 'revocation', e);
    }
  }

  async function worker() {
    while (!killed) {
      const dice = Math.random();
      await (dice < 0.7 ? exchange() : dice < 0.85 ? narrow() : revoke());
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  clearTimeout(safety);
  return {
    killAfter: o.killAfter,
    received,
    inFlightAtKill: atKill,
    answeredAfterKill: lateAnswers,
    narrowRefused,
    loadMs: performance.now() - start,
  };
}
