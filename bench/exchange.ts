/**
 * Benchmark of POST /token with CI tokens: the broker runs as its own process
 * (the real CLI, real SQLite), a local OIDC issuer serves its keys, and
 * autocannon drives pre-minted distinct GitHub-shaped RS256 tokens.
 *
 *   npm run bench:exchange [-- --tokens 12000] [-- --rate 300]   (--rate: the second phase's rate; default half of peak)
 *
 * Prints exchanges/s, latency percentiles, the broker's memory, JWKS fetches
 * during the run, and the one-core bound of RS256 verify + ES256 sign.
 */
import type autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { createSign, createVerify, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startTestIssuer } from '../test/helpers/oidc-issuer.js';
import { cpuSeconds, rss, run, waitUp, type Run } from './harness.js';

const argTokens = process.argv.indexOf('--tokens');
const TOKENS = argTokens > 0 ? Number(process.argv[argTokens + 1]) : 12000;
const argRate = process.argv.indexOf('--rate');
// A fresh port each run, so a broker left over from an interrupted run is never measured.
const PORT = 20000 + Math.floor(Math.random() * 10000);
const BROKER = `http://127.0.0.1:${PORT}`;

function cryptoBound(ms = 1500): { verify: number; sign: number; perExchange: number } {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.from('x'.repeat(800));
  const sig = createSign('RSA-SHA256').update(data).sign(rsa.privateKey);
  const rate = (fn: () => void) => {
    const end = performance.now() + ms;
    let n = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 50; i++) fn();
      n += 50;
    }
    return n / (ms / 1000);
  };
  const verify = rate(() => createVerify('RSA-SHA256').update(data).verify(rsa.publicKey, sig));
  const sign = rate(() =>
    cryptoSign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
  );
  return { verify, sign, perExchange: 1 / (1 / verify + 1 / sign) };
}

async function main() {
  const issuer = await startTestIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'tokenbroker-bench-'));
  const configPath = join(dir, 'tokenbroker.yaml');
  writeFileSync(
    configPath,
    stringify({
      issuer: BROKER,
      listen: { host: '127.0.0.1', port: PORT },
      database: join(dir, 'tb.db'),
      tokens: { audience: 'https://hub.example.com', max_ttl: '1h' },
      rate_limit: false,
      ci: {
        providers: [{ name: 'github', issuer: issuer.url, kind: 'github', audiences: [BROKER] }],
        policies: [
          {
            name: 'models',
            provider: 'github',
            match: { repository: 'acme/models', ref: 'refs/heads/main' },
            grant: ['write:models/acme/*'],
          },
        ],
      },
    }),
  );

  process.stdout.write(`minting ${TOKENS} distinct CI tokens... `);
  const tokens: string[] = [];
  for (let i = 0; i < TOKENS; i++)
    tokens.push(await issuer.github({ aud: BROKER, ref: 'refs/heads/main' }, { ttl: 3600 }));
  console.log('done');

  const bound = cryptoBound();

  // BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the broker.
  const nodeArgs = (process.env.BROKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, resolve('bin/tokenbroker.js'), 'serve', '--config', configPath],
    // BROKER_LOG=file keeps the broker's log (one line per request, with its time in ms).
    {
      stdio: [
        'ignore',
        process.env.BROKER_LOG ? openSync(process.env.BROKER_LOG, 'w') : 'ignore',
        'inherit',
      ],
    },
  );
  child.once('exit', (code) => {
    if (code !== null && code !== 0) {
      console.error(`the broker exited with code ${code}`);
      process.exit(1);
    }
  });
  try {
    await waitUp(BROKER);
    let next = 0;
    const body = () => {
      const t = tokens[next++ % tokens.length]!;
      return `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token&subject_token=${t}`;
    };
    const request = {
      method: 'POST' as const,
      path: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }),
    };
    // Warm-up: the first exchange fetches the issuer's keys.
    const warm = Math.min(500, Math.floor(TOKENS * 0.05));
    await run({ url: BROKER, connections: 8, amount: warm, requests: [request] });
    const fetchesBefore = issuer.jwksFetches;

    const peakAmount = Math.floor((TOKENS - warm) * 0.6);
    const cpuBefore = cpuSeconds(child.pid!);
    const peak = await run({
      url: BROKER,
      connections: 32,
      amount: peakAmount,
      requests: [request],
    });
    const cpuAfter = cpuSeconds(child.pid!);
    const cpuPerExchange = ((cpuAfter.all - cpuBefore.all) / peak['2xx']) * 1e6;
    const mainPerExchange = ((cpuAfter.main - cpuBefore.main) / peak['2xx']) * 1e6;
    const half = argRate > 0 ? Number(process.argv[argRate + 1]) : Math.floor(peak.perSecond / 2);
    const halfAmount = TOKENS - warm - peakAmount;
    // Few connections: autocannon paces each connection on its own, so many
    // connections at a fixed rate arrive in bursts and measure the burst.
    const atHalf = await run({
      url: BROKER,
      connections: 2,
      overallRate: half,
      amount: halfAmount,
      requests: [request],
    });
    const mem = rss(child.pid!);
    // The same rate and connections on a route that does nothing: the latency
    // floor of this machine, this HTTP stack and this load generator.
    const floor = await run({
      url: `${BROKER}/healthz`,
      connections: 2,
      overallRate: half,
      amount: halfAmount,
    });
    // The HTTP stack's own ceiling on this machine, for scale.
    const baseline = await run({ url: `${BROKER}/healthz`, connections: 32, duration: 3 });
    const fetchesDuring = issuer.jwksFetches - fetchesBefore;

    const ok = (r: Run) => r['2xx'];
    const bad = (r: Run) => r.non2xx + r.errors + r.timeouts;
    const f = (n: number) => n.toFixed(0);
    console.log('');
    console.log(
      'tokenbroker bench: POST /token, GitHub-shaped RS256 CI token in, ES256 workspace token out',
    );
    console.log(
      `  node ${process.version}, ${(await import('node:os')).cpus().length} cores, SQLite WAL synchronous=FULL`,
    );
    console.log(
      `  peak (32 connections):       ${f(peak.perSecond)} exchanges/s, p50 ${peak.latency.p50} ms, p99 ${peak.latency.p99} ms (${ok(peak)} ok, ${bad(peak)} failed)`,
    );
    console.log(
      `  at half of peak (${half}/s):  p50 ${atHalf.latency.p50} ms, p99 ${atHalf.latency.p99} ms (${ok(atHalf)} ok, ${bad(atHalf)} failed)`,
    );
    console.log(
      `  same rate, GET /healthz:     p50 ${floor.latency.p50} ms, p99 ${floor.latency.p99} ms (the latency floor)`,
    );
    console.log(
      `  HTTP baseline, GET /healthz:  ${f(baseline.perSecond)} req/s, p99 ${baseline.latency.p99} ms`,
    );
    console.log(
      `  broker memory:               RSS ${mem.rssMb.toFixed(0)} MB, peak ${mem.peakMb.toFixed(0)} MB`,
    );
    console.log(
      `  broker CPU per exchange:     ${f(cpuPerExchange)} us at peak (event-loop thread ${f(mainPerExchange)} us, other threads ${f(cpuPerExchange - mainPerExchange)} us)`,
    );
    console.log(`  JWKS fetches during the run: ${fetchesDuring}`);
    console.log(
      `  one-core crypto bound:       RS256 verify ${f(bound.verify)}/s, ES256 sign ${f(bound.sign)}/s -> ${f(bound.perExchange)} exchanges/s`,
    );
    console.log(
      `  ratio (peak / bound):        ${(peak.perSecond / bound.perExchange).toFixed(2)}`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
