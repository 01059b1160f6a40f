import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { formatResult, mergeResults, runFuzz, type Finding, type FuzzResult } from './harness.js';

/** A worker silent this long is stuck in one request (the 2 s oracle could not fire). */
const HANG_MS = 60_000;

/**
 * `npm run fuzz [-- --runs N --seed S --workers W]`: the full property-based
 * fuzz of every endpoint. A run is a batch of 1-8 cases sent at once (the
 * default 27,000 runs send over 100,000 requests). W worker threads (default 2, the cores of the CI
 * machine) each fuzz their own broker with seed S+i. Prints the seeds, counts
 * per endpoint and status, the rate, and every finding with its shrunk
 * input; exits 1 on any finding.
 */
function option(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v)) {
    console.error(
      `--${name} needs an integer, got ${JSON.stringify(process.argv[i + 1])}: e.g. --${name} 1000`,
    );
    process.exit(2);
  }
  return v;
}

if (isMainThread) {
  const runs = option('runs') ?? 27_000;
  const workers = Math.max(1, option('workers') ?? 2);
  const seed = option('seed') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  console.log(`fuzzing: --runs ${runs} --seed ${seed} --workers ${workers}`);
  const started = performance.now();
  const hangs: Finding[] = [];
  const results = await Promise.all(
    Array.from({ length: workers }, (_, i) => {
      const share = Math.floor(runs / workers) + (i < runs % workers ? 1 : 0);
      const laneSeed = (seed + i) | 0;
      return new Promise<FuzzResult | undefined>((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), {
          workerData: { runs: share, seed: laneSeed, lane: i },
          argv: [],
        });
        // A request that blocks the worker's event loop (catastrophic
        // backtracking) stops its own timers: the watchdog lives here.
        let beat = { at: Date.now(), batch: '(start-up)' };
        const watchdog = setInterval(() => {
          if (Date.now() - beat.at < HANG_MS) return;
          clearInterval(watchdog);
          hangs.push({
            kind: 'hang',
            message: `hang: worker ${i} answered nothing for ${HANG_MS / 1000} s; it was running this batch`,
            counterexample: beat.batch,
            seed: laneSeed,
            path: undefined,
            occurrences: 1,
          });
          void w.terminate().then(() => resolve(undefined));
        }, 1000);
        w.on('message', (m: { beat: string } | FuzzResult) => {
          if ('beat' in m) {
            beat = { at: Date.now(), batch: m.beat };
            return;
          }
          clearInterval(watchdog);
          resolve(m);
        });
        w.once('error', reject);
        w.once('exit', (code) => {
          clearInterval(watchdog);
          if (code !== 0 && code !== 1) reject(new Error(`fuzz worker ${i} exited with ${code}`));
        });
      });
    }),
  );
  const merged = mergeResults(
    results.filter((r): r is FuzzResult => r !== undefined),
    (performance.now() - started) / 1000,
  );
  merged.findings.push(...hangs);
  console.log(formatResult(merged));
  process.exit(merged.findings.length ? 1 : 0);
} else {
  const { runs, seed, lane } = workerData as { runs: number; seed: number; lane: number };
  const result = await runFuzz({
    runs,
    seed,
    onBatch: (batch) => parentPort!.postMessage({ beat: batch }),
    progress: (l) => console.log(`[worker ${lane}] ${l.trim()}`),
  });
  parentPort!.postMessage(result);
}
