import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { main } from '../../src/cli/main.js';
import type { Host } from '../../src/cli/host.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output; `host` replaces parts of the machine. */
export async function runCli(
  args: string[],
  opts: {
    cwd: string;
    env?: Record<string, string | undefined>;
    stdin?: string;
    host?: Partial<Host>;
  },
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: opts.env ?? {},
    cwd: opts.cwd,
    readStdin: async () => opts.stdin ?? '',
    host: opts.host,
  });
  return { code, stdout, stderr };
}

/** Retries that record their waits instead of waiting. */
export function instantRetry(slept: number[] = [], attempts = 4): Host['retry'] {
  return {
    attempts,
    baseDelayMs: 1000,
    maxDelayMs: 10_000,
    random: () => 0.5,
    sleep: async (ms) => {
      slept.push(ms);
    },
  };
}

/** A loopback URL where nothing listens: the port was bound, then closed. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
