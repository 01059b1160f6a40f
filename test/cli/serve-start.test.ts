import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { cliInvocation } from '../../src/cli/serve.js';

// What `tokenbroker serve` says when it starts, and when it cannot: run from
// the build (npm run build first) as a real process, since whether the
// process exits is part of the answer.

let dir: string;
let cleanup: () => void;
let busy: Server | undefined;
const env = { HUB_SECRET_SHA256: 'b'.repeat(64) };

beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(async () => {
  await new Promise((r) => (busy ? busy.close(r) : r(undefined)));
  busy = undefined;
  cleanup();
});

function writeConfig(extra: Record<string, unknown>): string {
  const path = join(dir, 'tokenbroker.yaml');
  writeFileSync(path, stringify({ ...testConfigObject({ database: './data/tb.db' }), ...extra }));
  return path;
}

/** Runs the built `tokenbroker serve`; stops it once stderr has a line, or lets it exit. */
async function serve(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [resolve('bin/tokenbroker.js'), 'serve', ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  for (let i = 0; !stderr.includes('\n') && child.exitCode === null; i++) {
    if (i > 150) {
      child.kill('SIGKILL');
      throw new Error(`serve neither started nor exited: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.exitCode === null && /serving/.test(stderr)) child.kill('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000)),
  ]);
  if (code === 'hung') {
    child.kill('SIGKILL');
    throw new Error(`serve did not exit: ${stderr}`);
  }
  return { code, stderr };
}

async function occupiedPort(): Promise<number> {
  busy = createServer();
  await new Promise<void>((r) => busy!.listen(0, '127.0.0.1', r));
  return (busy.address() as AddressInfo).port;
}

describe('tokenbroker serve', () => {
  it('names where it listens once, and the issuer only when it is another URL', async () => {
    const port = await occupiedPort();
    await new Promise((r) => busy!.close(r));
    busy = undefined;
    const path = writeConfig({
      issuer: `http://127.0.0.1:${port}`,
      listen: { host: '127.0.0.1', port },
    });
    const same = await serve([]);
    expect(same.stderr.split('\n')[0]).toBe(
      `tokenbroker: serving on http://127.0.0.1:${port} (config ${path})`,
    );
    writeConfig({ listen: { host: '127.0.0.1', port: 0 } });
    const behindProxy = await serve([]);
    expect(behindProxy.stderr.split('\n')[0]).toMatch(
      /^tokenbroker: serving on http:\/\/127\.0\.0\.1:\d+ for issuer https:\/\/broker\.test \(config /,
    );
  }, 30_000);

  it('says which port is taken and what to do, and exits, when the port is in use', async () => {
    const port = await occupiedPort();
    writeConfig({ listen: { host: '127.0.0.1', port } });
    expect(await serve([])).toEqual({
      code: 1,
      stderr: `tokenbroker: port ${port} on 127.0.0.1 is already in use (another tokenbroker, or another program): stop it, or pass --port with a free port (or listen.port in the config)\n`,
    });
  }, 30_000);

  it('says the same for the demo, whose port is only --port', async () => {
    const port = await occupiedPort();
    expect(await serve(['--port', String(port)])).toEqual({
      code: 1,
      stderr: `tokenbroker: port ${port} on 127.0.0.1 is already in use (another tokenbroker, or another program): stop it, or pass --port with a free port\n`,
    });
  }, 30_000);
});

describe('tokenbroker --version', () => {
  it("prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      expect(await runCli([flag], { cwd: dir })).toEqual({
        code: 0,
        stdout: `${version}\n`,
        stderr: '',
      });
    }
  });
});

describe("the demo banner's login command", () => {
  it.each([
    ['/clone/bin/tokenbroker.js', '/clone', 'node bin/tokenbroker.js'],
    ['/proj/node_modules/tokenbroker/bin/tokenbroker.js', '/proj', 'npx tokenbroker'],
    ['/usr/lib/node_modules/tokenbroker/bin/tokenbroker.js', '/home/ada', 'tokenbroker'],
    ['/clone/my dir/bin/tokenbroker.js', '/clone', 'tokenbroker'],
    [undefined, '/clone', 'tokenbroker'],
  ])('runs %s from %s as `%s`', (script, cwd, expected) => {
    expect(cliInvocation(script, cwd)).toBe(expected);
  });
});
