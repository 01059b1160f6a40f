/**
 * Crash proof: the broker process is SIGKILLed in the middle of concurrent
 * exchanges, narrowings and revocations, restarted on the same SQLite file,
 * and checked: every token a client received has its issued and audit rows,
 * every revocation that answered 200 holds, no CI token it consumed is
 * accepted again, and the restarted broker answers within 2 s.
 *
 *   npm run crash [-- --rounds 4] [-- --concurrency 24] [-- --min 150 --max 450]
 *
 * --min/--max: each round kills after a random number of received tokens in
 * this range. Exits 1 on any missing row, lost revocation, accepted replay,
 * unexpected answer, or restart over 2 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestIssuer } from '../test/helpers/oidc-issuer.js';
import {
  cpuMs,
  kill9,
  killedBy9,
  logTail,
  startBroker,
  stopGracefully,
  timeUntilOk,
  writeCrashConfig,
  type RunningBroker,
} from './crash-broker.js';
import {
  ciSource,
  exchangeBody,
  formPost,
  loadRound,
  newLedger,
  receive,
  type RoundLoad,
} from './crash-load.js';
import { checkFile, checkHttp, type FileCheck, type HttpCheck } from './crash-verify.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`crash: --${name} takes a positive whole number, e.g. --${name} ${fallback}`);
    process.exit(2);
  }
  return v;
}
const ROUNDS = flag('rounds', 4);
const CONCURRENCY = flag('concurrency', 24);
const MIN = flag('min', 150);
const MAX = Math.max(MIN, flag('max', 450));
const RESTART_LIMIT_MS = 2000;
/** A round that has not reached its kill point by then is killed anyway. */
const ROUND_MAX_MS = 20_000;

interface RoundResult {
  load: RoundLoad;
  file: FileCheck;
  restartMs: number;
  /** CPU the new broker process used until /healthz answered (Linux). */
  restartCpuMs: number | undefined;
  readyMs: number;
  /** From the restart to the first 200 of POST /token (the issuer's keys fetched again included). */
  firstExchangeMs: number;
  http: HttpCheck;
}

async function main(): Promise<number> {
  const issuer = await startTestIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'tokenbroker-crash-'));
  // Also on Ctrl-C, which ends the process without running the finally below.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const cfg = writeCrashConfig(dir, issuer.url);
  const ledger = newLedger();
  const ci = ciSource(issuer, cfg.url);
  let broker: RunningBroker = startBroker(cfg);
  const results: RoundResult[] = [];
  try {
    await timeUntilOk(`${cfg.url}/readyz`, performance.now(), broker);
    for (let round = 1; round <= ROUNDS; round++) {
      const killAfter = MIN + Math.floor(Math.random() * (MAX - MIN + 1));
      const victim = broker;
      const load = await loadRound({
        url: cfg.url,
        ledger,
        round,
        concurrency: CONCURRENCY,
        killAfter,
        maxMs: ROUND_MAX_MS,
        ci,
        kill: () => kill9(victim),
      });
      await killedBy9(victim);
      const file = checkFile(cfg.database, ledger, round);
      const probe = await ci.next();
      const since = performance.now();
      broker = startBroker(cfg);
      const restartMs = await timeUntilOk(`${cfg.url}/healthz`, since, broker);
      const restartCpuMs = cpuMs(broker.pid);
      const readyMs = await timeUntilOk(`${cfg.url}/readyz`, since, broker);
      const res = await fetch(`${cfg.url}/token`, formPost(exchangeBody(probe.token)));
      const firstExchangeMs = performance.now() - since;
      const body = (await res.json()) as { access_token?: string };
      if (res.status !== 200 || !body.access_token)
        throw new Error(`the first exchange after the restart answered ${res.status}`);
      ledger.ci.push({ ...probe, round, outcome: 'answered' });
      receive(ledger, body.access_token, null, round);
      const http = await checkHttp({ ...cfg, ledger, round });
      results.push({ load, file, restartMs, restartCpuMs, readyMs, firstExchangeMs, http });
      printRound(round, results.at(-1)!);
    }
    await stopGracefully(broker);
    const final = checkFile(cfg.database, ledger, 0);
    return summary(results, final, ledger.unexpected);
  } catch (e) {
    console.error(`crash: ${e instanceof Error ? e.message : String(e)}`);
    console.error(`last lines of the broker's log:\n${logTail(cfg)}`);
    return 1;
  } finally {
    if (broker.child.exitCode === null && broker.child.signalCode === null)
      broker.child.kill('SIGKILL');
    await broker.exited;
    await issuer.close();
    removeDir();
  }
}

const ms = (n: number) => `${n.toFixed(0)} ms`;
const cpu = (n: number | undefined) => (n === undefined ? 'CPU unknown' : `${ms(n)} CPU`);
const kinds = (k: RoundLoad['inFlightAtKill']) =>
  `${k.exchange} CI exchanges, ${k.narrow} narrowings, ${k.revoke} revocations`;

function printRound(round: number, r: RoundResult) {
  const { load, file, http } = r;
  const line = (s: string) => console.log(`  ${s}`);
  const early =
    load.received < load.killAfter
      ? `, by the ${ms(ROUND_MAX_MS)} safety timer before its ${load.killAfter}`
      : '';
  console.log(
    `round ${round}: SIGKILL at ${load.received} tokens received this round (${ms(load.loadMs)} of load${early})`,
  );
  line(
    `narrowings refused because an ancestor was being revoked: ${load.narrowRefused}; ` +
      `in flight at the kill: ${kinds(load.inFlightAtKill)}`,
  );
  line(`  of which answered anyway (already sent): ${kinds(load.answeredAfterKill)}`);
  line(
    `  never answered: CI ${file.inFlightIssued} issued + ${file.inFlightNotConsumed} not consumed` +
      ` (${file.halfDone.length} half-done); narrowings ${file.narrowInFlightIssued} issued + ${file.narrowInFlightNot} not;` +
      ` revocations ${file.revocationsInFlightHeld} done + ${file.revocationsInFlightNot} not`,
  );
  line(
    `file (broker dead): received ${file.received}, found ${file.found}, missing ${file.missing.length};` +
      ` revocations answered ${file.revocationsAnswered}, holding ${file.holding}, lost ${file.lost.length}` +
      ` (+ ${file.descendants} narrowed under them, lost ${file.descendantsLost.length})`,
  );
  line(
    `restart: /healthz ${ms(r.restartMs)} (${cpu(r.restartCpuMs)}), /readyz ${ms(r.readyMs)}, first exchange ${ms(r.firstExchangeMs)}`,
  );
  line(
    `after restart: replays refused ${http.replaysRefused}/${http.replaysTried}; unconsumed sent again: ` +
      `${http.retriesIssued}/${http.retriedNotConsumed} issued; /introspect: revoked inactive ` +
      `${http.reportedInactive}/${http.introspectedRevoked}, this round's live active ${http.reportedActive}/${http.introspectedLive}`,
  );
}

function problemsOf(results: RoundResult[], final: FileCheck): string[] {
  const problems: string[] = [];
  const check = (bad: number | boolean, what: string) => {
    if (bad) problems.push(what);
  };
  for (const [i, { file, http, restartMs, readyMs, restartCpuMs }] of results.entries()) {
    const n = `round ${i + 1}:`;
    check(file.missing.length, `${n} ${file.missing.length} received tokens without their rows`);
    check(file.lost.length, `${n} ${file.lost.length} revocations answered 200 but not held`);
    check(
      file.descendantsLost.length,
      `${n} ${file.descendantsLost.length} tokens narrowed from a revoked token are not revoked`,
    );
    check(
      file.guardMissing.length,
      `${n} ${file.guardMissing.length} exchanged CI tokens have no replay guard row`,
    );
    check(file.halfDone.length, `${n} half-done exchanges: ${file.halfDone.join('; ')}`);
    check(
      http.replaysTried - http.replaysRefused,
      `${n} ${http.replaysTried - http.replaysRefused} replays accepted after the restart`,
    );
    check(
      Math.max(restartMs, readyMs) > RESTART_LIMIT_MS,
      `${n} the restart took ${ms(Math.max(restartMs, readyMs))} (limit ${ms(RESTART_LIMIT_MS)}), ` +
        `of which the broker used ${cpu(restartCpuMs)}: if that is far below, the machine was busy ` +
        '(see `uptime`); run again when it is idle',
    );
  }
  check(
    final.missing.length + final.lost.length + final.descendantsLost.length,
    'the final check of the file (after a clean stop) found missing rows or lost revocations',
  );
  return problems;
}

function summary(results: RoundResult[], final: FileCheck, unexpected: string[]): number {
  const sum = (f: (r: RoundResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const restarts = results.map((r) => r.restartMs);
  const row = (label: string, value: string) => console.log(`  ${label.padEnd(44)}${value}`);
  console.log('');
  console.log(
    `tokenbroker crash proof: ${results.length} SIGKILL/restart rounds, ${CONCURRENCY} requests in flight`,
  );
  row(
    'tokens received / found / missing',
    `${final.received} / ${final.found} / ${final.missing.length}`,
  );
  row(
    'revocations answered / holding / lost',
    `${final.revocationsAnswered} / ${final.holding} / ${final.lost.length}`,
  );
  row('  narrowed under them / lost', `${final.descendants} / ${final.descendantsLost.length}`);
  row(
    'replays tried / refused',
    `${sum((r) => r.http.replaysTried)} / ${sum((r) => r.http.replaysRefused)}`,
  );
  row(
    'in flight at the kills',
    kinds({
      exchange: sum((r) => r.load.inFlightAtKill.exchange),
      narrow: sum((r) => r.load.inFlightAtKill.narrow),
      revoke: sum((r) => r.load.inFlightAtKill.revoke),
    }),
  );
  row(
    '  answered anyway',
    kinds({
      exchange: sum((r) => r.load.answeredAfterKill.exchange),
      narrow: sum((r) => r.load.answeredAfterKill.narrow),
      revoke: sum((r) => r.load.answeredAfterKill.revoke),
    }),
  );
  row(
    '  CI never answered: issued / not',
    `${sum((r) => r.file.inFlightIssued)} (refused as replays) / ${sum((r) => r.file.inFlightNotConsumed)} (sent again: ${sum((r) => r.http.retriesIssued)} issued)`,
  );
  row(
    '  narrowings never answered: issued / not',
    `${sum((r) => r.file.narrowInFlightIssued)} / ${sum((r) => r.file.narrowInFlightNot)}`,
  );
  row(
    '  revocations never answered: done / not',
    `${sum((r) => r.file.revocationsInFlightHeld)} / ${sum((r) => r.file.revocationsInFlightNot)}`,
  );
  row(
    'restart to /healthz',
    `${restarts.map(ms).join(', ')} (max ${ms(Math.max(...restarts))}, limit ${ms(RESTART_LIMIT_MS)})`,
  );
  row('  CPU used by the broker until then', results.map((r) => cpu(r.restartCpuMs)).join(', '));
  row('restart to /readyz', results.map((r) => ms(r.readyMs)).join(', '));
  row('restart to the first exchange', results.map((r) => ms(r.firstExchangeMs)).join(', '));
  const problems = [...unexpected, ...problemsOf(results, final)];
  if (problems.length) {
    console.log(`\nFAILED (${problems.length}):`);
    for (const p of problems.slice(0, 30)) console.log(`  - ${p}`);
    return 1;
  }
  console.log('\nOK: nothing missing, nothing lost, no replay accepted, every restart under 2 s');
  return 0;
}

// Ctrl-C: the exit hooks kill the broker and remove the temp directory.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`crash: ${signal}, stopping the broker and leaving`);
    process.exit(130);
  });
process.exitCode = await main();
