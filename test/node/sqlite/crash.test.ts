import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  kill9,
  killedBy9,
  startBroker,
  stopGracefully,
  timeUntilOk,
  writeCrashConfig,
  type CrashConfig,
  type RunningBroker,
} from '../../../bench/crash-broker.js';
import {
  ciSource,
  exchangeBody,
  formPost,
  loadRound,
  newLedger,
  receive,
  type CiSource,
  type Ledger,
} from '../../../bench/crash-load.js';
import { checkFile, checkHttp } from '../../../bench/crash-verify.js';
import { startTestIssuer, type TestIssuer } from '../../helpers/oidc-issuer.js';

// The small, fast version of `npm run crash` (bench/crash.ts): the built
// broker process (`npm test` builds first) SIGKILLed on a real SQLite file.
// One process and file for both tests, since starting one is most of the time;
// each test starts with a broker running and its own ledger.
let issuer: TestIssuer;
let dir: string;
let cfg: CrashConfig;
let broker: RunningBroker;
let ledger: Ledger;
let ci: CiSource;

const running = () => broker.child.exitCode === null && broker.child.signalCode === null;

async function start() {
  broker = startBroker(cfg);
  await timeUntilOk(`${cfg.url}/readyz`, performance.now(), broker);
}

beforeAll(async () => {
  if (!existsSync(resolve('dist/cli.js')))
    throw new Error('dist/cli.js is missing: run `npm run build` first');
  issuer = await startTestIssuer();
  dir = mkdtempSync(join(tmpdir(), 'tokenbroker-crash-test-'));
  cfg = writeCrashConfig(dir, issuer.url);
  ci = ciSource(issuer, cfg.url);
  await start();
});

beforeEach(async () => {
  ledger = newLedger();
  if (!running()) await start();
});

afterAll(async () => {
  if (broker && running()) await stopGracefully(broker);
  await issuer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a SIGKILL of the broker process', () => {
  it('loses no answered token, revocation or consumed CI token, mid-load with requests in flight', async () => {
    const victim = broker;
    const load = await loadRound({
      url: cfg.url,
      ledger,
      round: 1,
      concurrency: 12,
      killAfter: 80,
      maxMs: 10_000,
      ci,
      kill: () => kill9(victim),
    });
    await killedBy9(victim);
    expect(load.received).toBeGreaterThanOrEqual(80);

    const file = checkFile(cfg.database, ledger, 1);
    expect(file.found).toBe(ledger.received.size);
    expect(file.missing).toEqual([]);
    expect(file.lost).toEqual([]);
    expect(file.descendantsLost).toEqual([]);
    expect(file.guardMissing).toEqual([]);
    expect(file.halfDone).toEqual([]);
    const unanswered = ledger.ci.filter((u) => u.outcome === 'in_flight').length;
    expect(file.inFlightIssued + file.inFlightNotConsumed).toBe(unanswered);

    await start();
    const http = await checkHttp({ ...cfg, ledger, round: 1 });
    expect(http.replaysTried).toBe(ledger.ci.length - file.inFlightNotConsumed);
    expect(http.replaysRefused).toBe(http.replaysTried);
    expect(http.retriesIssued).toBe(file.inFlightNotConsumed);
    expect(http.reportedInactive).toBe(http.introspectedRevoked);
    expect(http.reportedActive).toBe(http.introspectedLive);
    expect(ledger.unexpected).toEqual([]);
  });

  it('is caught by the checks when a row, a revocation or a replay guard is gone from the file', async () => {
    const exchanged = [];
    for (let i = 0; i < 3; i++) {
      const use = await ci.next();
      const res = await fetch(`${cfg.url}/token`, formPost(exchangeBody(use.token)));
      const { access_token } = (await res.json()) as { access_token: string };
      ledger.ci.push({ ...use, round: 1, outcome: 'answered' });
      receive(ledger, access_token, null, 1);
      exchanged.push({ use, token: access_token });
    }
    const [a, b] = [...ledger.received.values()];
    expect((await fetch(`${cfg.url}/revoke`, formPost({ token: b!.token }))).status).toBe(200);
    ledger.revocations.push({ jti: b!.jti, round: 1, outcome: 'answered' });
    kill9(broker);
    await killedBy9(broker);

    // What a broker that answered before committing would leave behind.
    const db = new Database(cfg.database);
    db.prepare('DELETE FROM issued_tokens WHERE jti = ?').run(a!.jti);
    db.prepare('UPDATE issued_tokens SET revoked_at = NULL WHERE jti = ?').run(b!.jti);
    db.prepare('DELETE FROM replay_guard WHERE key = ?').run(`ci:github:${exchanged[2]!.use.jti}`);
    db.close();

    const file = checkFile(cfg.database, ledger, 1);
    expect(file.missing).toEqual([a!.jti]);
    expect(file.lost).toEqual([b!.jti]);
    expect(file.guardMissing).toEqual([exchanged[2]!.use.runId]);

    await start();
    const http = await checkHttp({ ...cfg, ledger, round: 1 });
    expect(http.replaysRefused).toBe(2);
    expect(ledger.unexpected).toEqual(
      expect.arrayContaining([
        `replay of run ${exchanged[2]!.use.runId} after restart: 200`,
        `revoked token ${b!.jti} is active after restart`,
        `live token ${a!.jti} is inactive after restart`,
      ]),
    );
  });
});
