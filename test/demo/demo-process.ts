import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface DemoProcess {
  url: string;
  /** Everything the demo printed to stderr so far: the banner first. */
  stderr(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/**
 * `tokenbroker serve` from the build (npm run build first), as `npm start`
 * runs it, in `cwd` (a folder without tokenbroker.yaml) on a free loopback
 * port; resolves once the banner is out.
 */
export async function startDemoProcess(
  cwd: string,
  args: string[] = ['--port', '0'],
  env: Record<string, string | undefined> = {},
): Promise<DemoProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [resolve('bin/tokenbroker.js'), 'serve', ...args],
    { cwd, env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    for (let i = 0; !stderr.includes('Ctrl-C stops the demo'); i++) {
      if (i > 300 || child.exitCode !== null) throw new Error(`the demo did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const url = /serving the demo on (http:\/\/[^ ]+)/.exec(stderr)![1]!;
  return {
    url,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
