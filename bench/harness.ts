/**
 * What the benchmarks that drive a real broker process share: waiting for it
 * to answer, timing an autocannon run, and reading its CPU and memory.
 */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) used so far: all threads, and the main (event-loop) thread. */
export function cpuSeconds(pid: number): { all: number; main: number } {
  const read = (path: string) => {
    const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  };
  return { all: read(`/proc/${pid}/stat`), main: read(`/proc/${pid}/task/${pid}/stat`) };
}

export function rss(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

export async function waitUp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('broker did not start');
}

export interface Run extends autocannon.Result {
  /** Responses per second between the run's start and its last response. */
  perSecond: number;
}

/**
 * Runs autocannon and times the run itself: autocannon notices that `amount`
 * requests are done only on its one-second tick, so its own start/finish and
 * per-second average round a 4.2-second run to 5 seconds.
 */
export function run(opts: autocannon.Options): Promise<Run> {
  return new Promise((res, rej) => {
    const start = performance.now();
    let last = start;
    let responses = 0;
    const instance = autocannon(opts, (err, result) =>
      err ? rej(err) : res({ ...result, perSecond: responses / ((last - start) / 1000) }),
    );
    instance.on('response', () => {
      responses++;
      last = performance.now();
    });
  });
}
