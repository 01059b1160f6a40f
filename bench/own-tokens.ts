/**
 * Benchmark of the two endpoints that verify the broker's own tokens:
 * POST /introspect and narrowing at POST /token. The broker runs as its own
 * process (the real CLI, real SQLite); the parent tokens are minted into its
 * database beforehand by the real Minter, as a running server would.
 *
 *   npm run build && node scripts/run-ts.mjs bench/own-tokens.ts [--requests 6000]
 *
 * BROKER_BIN=path/to/tokenbroker.js runs another build (say, a copy of the
 * previous one), so that two builds can be compared in turns on a busy machine.
 *
 * For each endpoint: throughput and p50/p99 at 32 connections, p50/p99 of one
 * request at a time (no queueing: the latency a caller sees on an idle
 * broker), and the broker's CPU per request at peak. Then verifyOwnToken
 * alone, in this process, on the same database and tokens with node:crypto
 * as the server has: the part of both requests that this bench is about,
 * without HTTP, SQLite writes or the load generator around it.
 */
import type autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { systemClock } from '../src/shared/clock.js';
import { parseConfig } from '../src/config/load.js';
import { nodeCrypto } from '../src/node/crypto.js';
import { openBroker } from '../src/node/open.js';
import { Minter } from '../src/tokens/mint.js';
import { verifyOwnToken } from '../src/tokens/verify.js';
import { cpuSeconds, run, waitUp, type Run } from './harness.js';

const argRequests = process.argv.indexOf('--requests');
const REQUESTS = argRequests > 0 ? Number(process.argv[argRequests + 1]) : 6000;
const PARENTS = 200;
const PORT = 20000 + Math.floor(Math.random() * 10000);
const BROKER = `http://127.0.0.1:${PORT}`;
const ACCESS_TOKEN = 'urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token';
const EXCHANGE = 'urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange';

async function mintParents(configText: string, dir: string): Promise<string[]> {
  const config = parseConfig(configText);
  const { store, keys } = await openBroker(config, { cwd: dir });
  try {
    const minter = new Minter({
      store,
      keys,
      clock: systemClock,
      issuer: config.issuer,
      audience: config.tokens.audience,
      crypto: nodeCrypto(),
    });
    const tokens: string[] = [];
    for (let i = 0; i < PARENTS; i++) {
      const minted = await minter.mint({
        subject: `user:bench-${i}@example.com`,
        scopes: ['read:models/acme/*'],
        ttlSeconds: 3600,
        clientId: 'bench',
        source: 'web',
        audit: { source: 'web' },
      });
      tokens.push(minted.issued!.token);
    }
    return tokens;
  } finally {
    await store.close();
  }
}

/** A POST whose body changes per request (a different parent token each time). */
interface Post {
  path: string;
  headers: Record<string, string>;
  body: () => string;
}

/** One endpoint: a warm-up, the peak at 32 connections, then one request at a time. */
async function measure(pid: number, post: Post) {
  const request: autocannon.Request = {
    method: 'POST',
    path: post.path,
    headers: post.headers,
    setupRequest: (req) => ({ ...req, body: post.body() }),
  };
  const options = { url: BROKER, requests: [request] };
  await run({ ...options, connections: 8, amount: 300 });
  const before = cpuSeconds(pid);
  const peak = await run({ ...options, connections: 32, amount: REQUESTS });
  const after = cpuSeconds(pid);
  const cpu = ((after.all - before.all) / peak['2xx']) * 1e6;
  const main = ((after.main - before.main) / peak['2xx']) * 1e6;
  const single = await oneAtATime(post, Math.floor(REQUESTS / 3));
  return { peak, single, cpu, main };
}

/**
 * Sequential requests timed here, to the microsecond: autocannon rounds each
 * latency to a whole millisecond, which hides a difference of a few hundred
 * microseconds on an idle broker.
 */
async function oneAtATime(post: Post, amount: number) {
  const { perSecond, p50, p99, failed } = await timed(amount, async () => {
    const res = await fetch(`${BROKER}${post.path}`, {
      method: 'POST',
      headers: post.headers,
      body: post.body(),
    });
    await res.arrayBuffer();
    return res.ok;
  });
  return { perSecond, p50, p99, ok: amount - failed, failed };
}

/** Runs `once` `amount` times in sequence: its latency percentiles (ms) and this process's CPU per call. */
async function timed(amount: number, once: () => Promise<boolean>) {
  const times: number[] = [];
  let failed = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < amount; i++) {
    const t0 = performance.now();
    if (!(await once())) failed++;
    times.push(performance.now() - t0);
  }
  const perSecond = amount / ((performance.now() - start) / 1000);
  const used = process.cpuUsage(cpu);
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return {
    perSecond,
    p50: at(0.5),
    p99: at(0.99),
    failed,
    cpuUs: (used.user + used.system) / amount,
  };
}

/** verifyOwnToken by itself, as /introspect and narrowing call it, on the server's database. */
async function verifierAlone(configText: string, dir: string, tokens: string[]) {
  const config = parseConfig(configText);
  const { store, keys } = await openBroker(config, { cwd: dir });
  const deps = { keys, store, clock: systemClock, config, crypto: nodeCrypto() };
  let next = 0;
  const once = () =>
    verifyOwnToken(tokens[next++ % tokens.length]!, deps).then(
      () => true,
      () => false,
    );
  try {
    await timed(500, once); // warm-up
    return await timed(REQUESTS, once);
  } finally {
    await store.close();
  }
}

const f = (n: number) => n.toFixed(0);
const ms = (n: number) => n.toFixed(2);

function report(name: string, m: Awaited<ReturnType<typeof measure>>): void {
  const bad = (r: Run) => r.non2xx + r.errors + r.timeouts;
  console.log(`  ${name}`);
  console.log(
    `    peak (32 connections):   ${f(m.peak.perSecond)}/s, p50 ${m.peak.latency.p50} ms, p99 ${m.peak.latency.p99} ms (${m.peak['2xx']} ok, ${bad(m.peak)} failed)`,
  );
  console.log(
    `    one at a time:           ${f(m.single.perSecond)}/s, p50 ${ms(m.single.p50)} ms, p99 ${ms(m.single.p99)} ms (${m.single.ok} ok, ${m.single.failed} failed)`,
  );
  console.log(
    `    broker CPU per request:  ${f(m.cpu)} us at peak (event-loop thread ${f(m.main)} us)`,
  );
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'tokenbroker-bench-own-'));
  const secret = randomBytes(24).toString('hex');
  const configPath = join(dir, 'tokenbroker.yaml');
  const configText = stringify({
    issuer: BROKER,
    listen: { host: '127.0.0.1', port: PORT },
    database: join(dir, 'tb.db'),
    tokens: { audience: 'https://hub.example.com', max_ttl: '1h' },
    rate_limit: false,
    resource_servers: [
      { client_id: 'hub', client_secret_sha256: createHash('sha256').update(secret).digest('hex') },
    ],
  });
  writeFileSync(configPath, configText);
  const parents = await mintParents(configText, dir);

  let next = 0;
  const parent = () => parents[next++ % parents.length]!;
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const introspectPost: Post = {
    path: '/introspect',
    headers: { ...form, authorization: `Basic ${Buffer.from(`hub:${secret}`).toString('base64')}` },
    body: () => `token=${parent()}`,
  };
  const narrowPost: Post = {
    path: '/token',
    headers: form,
    body: () =>
      `grant_type=${EXCHANGE}&subject_token_type=${ACCESS_TOKEN}&scope=read%3Amodels%2Facme%2Fbert&subject_token=${parent()}`,
  };

  const child = spawn(
    process.execPath,
    [resolve(process.env.BROKER_BIN ?? 'bin/tokenbroker.js'), 'serve', '--config', configPath],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise((r) => child.once('exit', r));
  child.once('exit', (code) => {
    if (code !== null && code !== 0) {
      console.error(`the broker exited with code ${code}`);
      process.exit(1);
    }
  });
  try {
    let introspect, narrow;
    try {
      await waitUp(BROKER);
      introspect = await measure(child.pid!, introspectPost);
      narrow = await measure(child.pid!, narrowPost);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const alone = await verifierAlone(configText, dir, parents);
    console.log('');
    console.log("tokenbroker bench: the broker's own ES256 tokens verified");
    console.log(`  node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
    report('POST /introspect (Basic auth, active token)', introspect);
    report('POST /token narrowing (verify parent, mint child)', narrow);
    console.log('  verifyOwnToken alone, in process, one at a time');
    console.log(
      `    ${f(alone.perSecond)}/s, p50 ${f(alone.p50 * 1000)} us, p99 ${f(alone.p99 * 1000)} us, CPU ${f(alone.cpuUs)} us per call (${alone.failed} refused)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
