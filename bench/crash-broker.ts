/**
 * The broker as its own process, for the crash proof: the real CLI on a temp
 * config and a temp SQLite file, started, SIGKILLed and started again on the
 * same file. Every child is killed when this process exits, however it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export interface CrashConfig {
  url: string;
  configPath: string;
  database: string;
  /** HTTP Basic credentials of the resource server that may call /introspect. */
  introspectAuth: string;
  logPath: string;
}

export const SCOPE_ALL = ['write:models/acme/*', 'read:datasets/acme/**'];
export const SCOPE_NARROW = 'read:datasets/acme/crash';

export function writeCrashConfig(dir: string, issuerUrl: string): CrashConfig {
  // A fresh port each run, so a broker left over from an interrupted run is never the one checked.
  const port = 20000 + Math.floor(Math.random() * 10000);
  const url = `http://127.0.0.1:${port}`;
  const secret = randomBytes(24).toString('hex');
  const configPath = join(dir, 'tokenbroker.yaml');
  const database = join(dir, 'crash.db');
  writeFileSync(
    configPath,
    stringify({
      issuer: url,
      listen: { host: '127.0.0.1', port },
      database,
      tokens: { audience: 'https://hub.example.com', default_ttl: '15m', max_ttl: '1h' },
      // The proof counts answers; a 429 would only be noise in the count.
      rate_limit: false,
      resource_servers: [
        {
          client_id: 'crash',
          client_secret_sha256: createHash('sha256').update(secret).digest('hex'),
        },
      ],
      ci: {
        providers: [{ name: 'github', issuer: issuerUrl, kind: 'github', audiences: [url] }],
        policies: [
          {
            name: 'models',
            provider: 'github',
            match: { repository: 'acme/models', ref: 'refs/heads/main' },
            grant: SCOPE_ALL,
          },
        ],
      },
    }),
  );
  return {
    url,
    configPath,
    database,
    introspectAuth: `Basic ${Buffer.from(`crash:${secret}`).toString('base64')}`,
    logPath: join(dir, 'broker.log'),
  };
}

const children = new Set<ChildProcess>();
// However this process ends (an exception, process.exit from a signal handler), no broker outlives it.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface RunningBroker {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code, or the signal's name, once the process is gone. */
  exited: Promise<number | string>;
}

/** Starts `node bin/tokenbroker.js serve` (no npm wrapper: SIGKILL reaches the broker itself). */
export function startBroker(cfg: CrashConfig): RunningBroker {
  const log = openSync(cfg.logPath, 'a');
  const child = spawn(
    process.execPath,
    [resolve('bin/tokenbroker.js'), 'serve', '--config', cfg.configPath],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  children.add(child);
  const exited = new Promise<number | string>((res) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      res(signal ?? code ?? -1);
    }),
  );
  if (child.pid === undefined) throw new Error('crash: the broker process did not start');
  return { child, pid: child.pid, exited };
}

/**
 * Milliseconds from `since` until `path` answers 200; polls every 5 ms so the
 * figure is not rounded up to the poll interval. Fails after `limitMs`.
 */
export async function timeUntilOk(
  url: string,
  since: number,
  broker: RunningBroker,
  limitMs = 10_000,
): Promise<number> {
  let gone: number | string | undefined;
  void broker.exited.then((e) => (gone = e));
  while (performance.now() - since < limitMs) {
    if (gone !== undefined) throw new Error(`the broker exited (${gone}) before it answered`);
    try {
      if ((await fetch(url)).ok) return performance.now() - since;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${url} did not answer within ${limitMs} ms`);
}

/**
 * CPU milliseconds (user + system, all threads) the process has used, from
 * /proc (Linux; undefined elsewhere): the restart's own cost, apart from how
 * busy the machine was.
 */
export function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in ticks of 10 ms (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/** SIGKILL, synchronously: called from inside an answer's callback, mid-load. */
export function kill9(broker: RunningBroker): void {
  try {
    process.kill(broker.pid, 'SIGKILL');
  } catch (e) {
    // Already gone: `killedBy9` tells whether it was this signal or a crash of its own.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** Waits for the process to be gone, and fails unless the SIGKILL is what ended it. */
export async function killedBy9(broker: RunningBroker): Promise<void> {
  const how = await broker.exited;
  if (how !== 'SIGKILL') throw new Error(`the broker ended with ${how}, not by the SIGKILL`);
}

export async function stopGracefully(broker: RunningBroker): Promise<void> {
  broker.child.kill('SIGTERM');
  await broker.exited;
}

/** The last lines of the broker's log, for a failure's message. */
export function logTail(cfg: CrashConfig, lines = 20): string {
  try {
    return readFileSync(cfg.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
