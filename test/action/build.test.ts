import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ACTION_DIR, actionYml } from './sim-runner.js';

const run = promisify(execFile);

describe('action/dist', () => {
  it('is what `npm run build:action` builds from the sources now', async () => {
    // Throws (and so fails) with the script's message when dist is stale.
    const { stdout } = await run(process.execPath, ['scripts/build-action.mjs', '--check']);
    expect(stdout).toContain('action/dist is up to date');
  });
});

describe('action.yml', () => {
  const yml = actionYml();

  it('runs the bundled main and post steps on node24, the post step always', () => {
    expect(yml.runs).toEqual({
      using: 'node24',
      main: 'dist/main.js',
      post: 'dist/post.js',
      'post-if': 'always()',
    });
    for (const f of ['main.js', 'post.js'])
      expect(existsSync(join(ACTION_DIR, 'dist', f))).toBe(true);
  });

  it('has the inputs and defaults of the contract', () => {
    expect(
      Object.fromEntries(
        Object.entries(yml.inputs).map(([k, v]) => [k, [v.required ?? false, v.default]]),
      ),
    ).toEqual({
      'broker-url': [true, undefined],
      scope: [false, ''],
      ttl: [false, ''],
      audience: [false, ''],
      'export-env': [false, 'HF_TOKEN'],
      revoke: [false, 'true'],
    });
    expect(Object.keys(yml.outputs)).toEqual(['token', 'expires-at', 'scope']);
  });

  it('describes every input and output in full', () => {
    for (const [name, spec] of [...Object.entries(yml.inputs), ...Object.entries(yml.outputs)]) {
      expect((spec as { description?: string }).description?.length, name).toBeGreaterThan(80);
    }
  });
});
