import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoRefusal } from '../../src/demo/start.js';
import { tempDir } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';

// The demo's IdP logs anyone in as anyone and its CI issuer signs any claims:
// it must never be reachable from another machine, nor run where production does.

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

describe('serve without a config (the demo) refuses to start', () => {
  it.each([
    '0.0.0.0',
    '::',
    '192.168.1.10',
    'broker.example.com',
    'localhost.example.com',
    '128.0.0.1',
  ])('on %s, saying why and what to do, and writes nothing', async (host) => {
    const r = await runCli(['serve', '--host', host, '--port', '0'], { cwd: dir, env: {} });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `tokenbroker: the demo listens on loopback only (127.0.0.1, ::1 or localhost), not on ${host}: its test IdP logs anyone in, so no other machine may reach it; drop --host, or to run a real broker, write ./tokenbroker.yaml (start from examples/tokenbroker.yaml) or pass --config F\n`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('with NODE_ENV=production, even on loopback', async () => {
    const r = await runCli(['serve', '--port', '0'], {
      cwd: dir,
      env: { NODE_ENV: 'production' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^tokenbroker: no config, and NODE_ENV=production: the demo .* does not run in production: to run a real broker, write \.\/tokenbroker\.yaml/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the loopback addresses the demo accepts', () => {
  it.each(['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost'])('%s', (host) => {
    expect(demoRefusal(host, {})).toBeUndefined();
  });
});
