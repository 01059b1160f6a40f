import fc from 'fast-check';
import { narrowCase, runNarrow, runTokenOp, tokenOpCase } from './broker-token-case.js';
import { ciCase, runCi } from './ci-case.js';
import { Violation, newStats, type Stats } from './http.js';
import { personCase, runPerson } from './person-case.js';
import { rawCase, runRaw } from './raw-case.js';
import { acsCase, loginCase, runAcs, runLogin } from './saml-case.js';
import { closeSocketServer, runSocket, socketCase } from './socket-case.js';
import { World } from './world.js';

/**
 * The fuzz property over every endpoint, and a runner that keeps going past
 * a failure: each distinct kind of failure is shrunk and reported once, later
 * occurrences of a reported kind are counted, and the run continues with the
 * next seed until the requested number of cases has run.
 */
const anyCase = fc.oneof(
  { weight: 32, arbitrary: rawCase.map((c) => ({ kind: 'raw' as const, c })) },
  { weight: 25, arbitrary: ciCase.map((c) => ({ kind: 'ci' as const, c })) },
  { weight: 12, arbitrary: narrowCase.map((c) => ({ kind: 'narrow' as const, c })) },
  { weight: 10, arbitrary: tokenOpCase.map((c) => ({ kind: 'token-op' as const, c })) },
  { weight: 6, arbitrary: acsCase.map((c) => ({ kind: 'acs' as const, c })) },
  { weight: 4, arbitrary: loginCase.map((c) => ({ kind: 'login' as const, c })) },
  { weight: 6, arbitrary: personCase.map((c) => ({ kind: 'person' as const, c })) },
  { weight: 3, arbitrary: socketCase.map((c) => ({ kind: 'socket' as const, c })) },
);
type AnyCase = typeof anyCase extends fc.Arbitrary<infer T> ? T : never;

async function runCase(world: World, stats: Stats, x: AnyCase): Promise<void> {
  switch (x.kind) {
    case 'raw':
      return runRaw(world, stats, x.c);
    case 'ci':
      return runCi(world, stats, x.c);
    case 'narrow':
      return runNarrow(world, stats, x.c);
    case 'token-op':
      return runTokenOp(world, stats, x.c);
    case 'acs':
      return runAcs(world, stats, x.c);
    case 'login':
      return runLogin(world, stats, x.c);
    case 'person':
      return runPerson(world, stats, x.c);
    case 'socket':
      return runSocket(world, stats, x.c);
  }
}

export interface Finding {
  kind: string;
  /** The failure message of the shrunk case. */
  message: string;
  /** fast-check's shrunk input, printed. */
  counterexample: string;
  seed: number;
  path: string | undefined;
  /** How many cases failed this way during the whole run. */
  occurrences: number;
}

export interface FuzzResult {
  /** Tokens the broker issued to the fuzzer's valid requests (each checked by the oracles). */
  tokensIssued: number;
  /** The seed of each worker (one for a single run). */
  seeds: number[];
  cases: number;
  stats: Stats;
  seconds: number;
  findings: Finding[];
}

export interface FuzzOptions {
  /** fast-check runs; each is a batch of 1 to `batch` cases sent concurrently. */
  runs: number;
  batch?: number;
  seed: number;
  /** Told of each batch before it runs: a watchdog names the input if the thread then hangs. */
  onBatch?: (batch: string) => void;
  /** Progress lines (e.g. console.error); silent when absent. */
  progress?: (line: string) => void;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const world = await World.start();
  const stats = newStats();
  const reported = new Map<string, Finding>();
  const processFaults: string[] = [];
  const onRejection = (e: unknown) =>
    processFaults.push(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`);
  const onException = (e: unknown) =>
    processFaults.push(`uncaught exception: ${(e as Error)?.stack ?? String(e)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  // node-saml's XML parser (xmldom) writes its warnings straight to the
  // console: counted and reported, not printed thousands of times.
  const { warn, error } = console;
  const quiet =
    (print: (...a: unknown[]) => void) =>
    (...a: unknown[]) => {
      if (typeof a[0] === 'string' && a[0].startsWith('[xmldom')) stats.parserWarnings++;
      else print(...a);
    };
  console.warn = quiet(warn);
  console.error = quiet(error);
  const started = performance.now();
  let cases = 0;
  let lastProgress = started;

  /** Runs one case; resolves with the failure it found, if any. */
  async function one(x: AnyCase): Promise<unknown> {
    cases++;
    const t0 = performance.now();
    try {
      await runCase(world, stats, x);
    } catch (e) {
      return e;
    }
    const k = stats.byKind.get(x.kind) ?? { cases: 0, ms: 0 };
    stats.byKind.set(x.kind, { cases: k.cases + 1, ms: k.ms + performance.now() - t0 });
    return undefined;
  }

  // Each run is a batch of cases sent at once, as concurrent clients would:
  // it exercises interleavings and keeps the SQLite writer's group commit busy.
  const property = fc.asyncProperty(
    fc.array(anyCase, { minLength: 1, maxLength: options.batch ?? 8 }),
    async (batch) => {
      options.onBatch?.(fc.stringify(batch).slice(0, 20_000));
      const faultsBefore = processFaults.length;
      const failures = (await Promise.all(batch.map(one))).filter((e) => e !== undefined);
      // A rejection nobody awaited surfaces a tick later.
      await new Promise((r) => setImmediate(r));
      if (processFaults.length > faultsBefore)
        failures.push(new Violation('process-fault', processFaults[faultsBefore]!));
      for (const e of failures) {
        const kind = e instanceof Violation ? e.kind : 'harness-error';
        const known = reported.get(kind);
        if (known) known.occurrences++;
        else throw e;
      }
      const now = performance.now();
      if (options.progress && now - lastProgress > 15_000) {
        lastProgress = now;
        const sec = (now - started) / 1000;
        options.progress(
          `${cases} cases, ${stats.requests} requests, ${Math.round(stats.requests / sec)} req/s`,
        );
      }
    },
  );

  let remaining = options.runs;
  let seed = options.seed;
  try {
    while (remaining > 0) {
      const t = performance.now();
      const r = await fc.check(property, { numRuns: remaining, seed });
      options.progress?.(
        `fast-check run of seed ${seed}: ${r.numRuns} runs, ${r.numShrinks} shrinks, ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
      if (!r.failed) break;
      const err = r.errorInstance;
      const kind = err instanceof Violation ? err.kind : 'harness-error';
      reported.set(kind, {
        kind,
        message: err instanceof Error ? err.message : String(err),
        counterexample: fc.stringify(r.counterexample),
        seed,
        path: r.counterexamplePath ?? undefined,
        occurrences: 1,
      });
      options.progress?.(`  finding ${kind} (seed ${seed}); continuing`);
      remaining -= Math.max(1, r.numRuns);
      seed = (seed + 1) | 0;
    }
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    console.warn = warn;
    console.error = error;
    await closeSocketServer();
    await world.close();
  }
  return {
    tokensIssued: world.issued.size - world.brokerTokens.length,
    seeds: [options.seed],
    cases,
    stats,
    seconds: (performance.now() - started) / 1000,
    findings: [...reported.values()],
  };
}

/** One result of several workers' runs; `seconds` is the wall time of them all. */
export function mergeResults(results: FuzzResult[], seconds: number): FuzzResult {
  const stats = newStats();
  const findings = new Map<string, Finding>();
  for (const r of results) {
    stats.requests += r.stats.requests;
    stats.skipped += r.stats.skipped;
    stats.parserWarnings += r.stats.parserWarnings;
    stats.slow.push(...r.stats.slow);
    for (const [k, v] of r.stats.byEndpoint)
      stats.byEndpoint.set(k, (stats.byEndpoint.get(k) ?? 0) + v);
    for (const [k, v] of r.stats.byStatus) stats.byStatus.set(k, (stats.byStatus.get(k) ?? 0) + v);
    for (const [k, v] of r.stats.byKind) {
      const have = stats.byKind.get(k) ?? { cases: 0, ms: 0 };
      stats.byKind.set(k, { cases: have.cases + v.cases, ms: have.ms + v.ms });
    }
    for (const f of r.findings) {
      const have = findings.get(f.kind);
      if (have) have.occurrences += f.occurrences;
      else findings.set(f.kind, { ...f });
    }
  }
  return {
    tokensIssued: results.reduce((n, r) => n + r.tokensIssued, 0),
    seeds: results.flatMap((r) => r.seeds),
    cases: results.reduce((n, r) => n + r.cases, 0),
    stats,
    seconds,
    findings: [...findings.values()],
  };
}

/** The summary a person reads: counts per endpoint and status, rate, findings with their shrunk input. */
export function formatResult(r: FuzzResult): string {
  const lines: string[] = [];
  const rate = Math.round(r.stats.requests / r.seconds);
  lines.push(
    `seeds ${r.seeds.join(', ')}: ${r.cases} cases, ${r.stats.requests} requests in ${r.seconds.toFixed(1)} s (${rate} req/s)`,
  );
  lines.push(
    `tokens issued to valid requests, each checked against the oracles: ${r.tokensIssued}`,
  );
  lines.push('requests per endpoint:');
  for (const [k, v] of [...r.stats.byEndpoint].sort((a, b) => b[1] - a[1]))
    lines.push(`  ${String(v).padStart(7)}  ${k}`);
  lines.push('cases per kind (mean time each):');
  for (const [k, v] of r.stats.byKind)
    lines.push(`  ${String(v.cases).padStart(7)}  ${k} (${(v.ms / v.cases).toFixed(2)} ms)`);
  lines.push('responses per status:');
  for (const [k, v] of [...r.stats.byStatus].sort((a, b) => a[0] - b[0]))
    lines.push(`  ${String(v).padStart(7)}  ${k}`);
  if (r.stats.skipped)
    lines.push(
      `(${r.stats.skipped} generated requests could not be built by fetch's Request and were skipped)`,
    );
  if (r.stats.parserWarnings) {
    lines.push(
      `(the broker's XML parser, node-saml's xmldom, wrote ${r.stats.parserWarnings} warnings to the console)`,
    );
  }
  if (r.findings.length === 0) {
    lines.push(
      'no findings: zero 5xx, zero crashes, zero tokens for invalid input, nothing over 2 s',
    );
  } else {
    lines.push(`${r.findings.length} distinct finding(s):`);
    for (const f of r.findings) {
      lines.push(
        `- ${f.kind} (${f.occurrences} case(s); reproduce with --seed ${f.seed} --workers 1${f.path ? `; fast-check path ${f.path}` : ''})`,
      );
      lines.push(`  ${f.message.slice(0, 3000)}`);
      lines.push(`  shrunk input: ${f.counterexample.slice(0, 3000)}`);
    }
  }
  return lines.join('\n');
}
