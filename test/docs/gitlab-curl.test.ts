import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/broker.js';
import { startCi, type CiSetup } from '../helpers/ci.js';
import { listen } from '../helpers/listen.js';

// The README's GitLab job exchanges its token with curl and jq alone: run
// that very script (read from the README) against a real listening broker.

/** The `- |` script of the README's GitLab example, as GitLab would run it with sh. */
function readmeScript(): string {
  const readme = readFileSync('README.md', 'utf8');
  const job = /```yaml\n# \.gitlab-ci\.yml in acme\/models\n([\s\S]*?)```/.exec(readme)![1]!;
  const block = /^ {4}- \|\n((?: {6}.*\n)+)/m.exec(job)![1]!;
  return block.replace(/^ {6}/gm, '');
}

const hasJq = spawnSync('jq', ['--version']).status === 0;

let ci: CiSetup;
let server: { url: string; close: () => Promise<void> };
beforeAll(async () => {
  ci = await startCi();
  server = await listen(ci.broker.app.fetch);
});
afterAll(async () => {
  await server?.close();
  await ci?.close();
});

/** Runs the script as GitLab would (sh), asynchronously: the broker answers from this process. */
async function run(idToken: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const { dir, cleanup } = tempDir();
  const script = `${readmeScript().replaceAll('https://broker.example.com', server.url)}printf %s "$HF_TOKEN"\n`;
  try {
    return await new Promise((resolve) => {
      execFile(
        'sh',
        ['-c', script],
        { cwd: dir, env: { PATH: process.env.PATH, TOKENBROKER_ID_TOKEN: idToken } },
        (error, stdout, stderr) =>
          resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
  } finally {
    cleanup();
  }
}

describe.runIf(hasJq)("the README's GitLab job with curl", () => {
  it('exchanges the job token and exports the workspace token', async () => {
    const token = await ci.gitlab.gitlab();
    const r = await run(token);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [, payload] = r.stdout.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims.scope).toBe('write:models/acme/gl-bert');
    expect(claims.sub).toMatch(/^ci:gitlab:/);
  });

  it('fails the job with the reason when the broker refuses', async () => {
    const token = await ci.gitlab.gitlab({ project_path: 'acme/other' });
    const r = await run(token);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^refused \(invalid_grant\): no trust policy matched: provider gitlab/,
    );
    expect(r.stdout).toBe('');
  });
});

it('has jq to run the README job with (the CI image installs it)', () => {
  expect(
    execFileSync('sh', ['-c', 'command -v jq || echo missing'], { encoding: 'utf8' }),
  ).not.toBe('missing\n');
});
