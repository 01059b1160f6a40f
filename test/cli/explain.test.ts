import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CI_POLICIES } from '../helpers/ci.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';

let issuer: TestIssuer;
let dir: string;
let cleanup: () => void;
const env = { HUB_SECRET_SHA256: 'c'.repeat(64) };

beforeEach(async () => {
  issuer = await startTestIssuer();
  ({ dir, cleanup } = tempDir());
  writeFileSync(
    join(dir, 'tokenbroker.yaml'),
    stringify(
      testConfigObject({
        database: './tb.db',
        ci: {
          providers: [
            {
              name: 'github',
              issuer: issuer.url,
              kind: 'github',
              audiences: ['https://broker.test'],
            },
          ],
          policies: CI_POLICIES.filter((p) => p.provider === 'github'),
        },
      }),
    ),
  );
});
afterEach(async () => {
  await issuer.close();
  cleanup();
});

describe('tokenbroker explain', () => {
  it('shows every check and every policy condition for an accepted token', async () => {
    const r = await runCli(['explain', '--token', await issuer.github()], { cwd: dir, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok {3}signature +signed by a key github publishes/);
    expect(r.stdout).toMatch(/ok {3}audience +"https:\/\/broker.test" is accepted/);
    expect(r.stdout).toContain(
      'MATCH models-release  grants write:models/acme/* read:datasets/acme/**',
    );
    expect(r.stdout).toContain('ok   repository: expected "acme/models", token has "acme/models"');
    expect(r.stdout).toContain('Result: accepted by models-release, acme-readers');
  });

  it('shows which condition failed, with both values, and exits 1', async () => {
    const token = await issuer.github({ ref: 'refs/heads/feat' });
    const r = await runCli(['explain', '--token', '-'], { cwd: dir, env, stdin: `${token}\n` });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('no    models-release');
    expect(r.stdout).toContain(
      'FAIL ref: expected any of "refs/heads/main", glob "refs/tags/v*", token has "refs/heads/feat"',
    );
    expect(r.stdout).toContain('Result: refused: no trust policy matched');
    expect(r.stderr).toContain('the broker would refuse this token');
  });

  it('says a claim over limits.max_claim_length can never match, rather than a bare FAIL', async () => {
    const ref = `refs/tags/v${'1.'.repeat(600)}0`;
    const r = await runCli(['explain', '--token', await issuer.github({ ref })], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `FAIL ref: expected any of "refs/heads/main", glob "refs/tags/v*", the token's value is ${ref.length} characters, over limits.max_claim_length (1024), so it never matches`,
    );
  });

  it('explains an expired token, and accepts it with --now in its lifetime', async () => {
    const iat = Math.floor(Date.now() / 1000) - 7200;
    const token = await issuer.github({}, { now: iat });
    let r = await runCli(['explain', '--token', token], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL token_expired +CI token expired 1h5?5?m?\d*s? ago/);
    expect(r.stdout).toContain('(evaluated on the unverified claims)');
    r = await runCli(['explain', '--token', token, '--now', String(iat + 10)], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Result: accepted by');
  });

  it('points out GitHub’s immutable sub form', async () => {
    const r = await runCli(
      [
        'explain',
        '--token',
        await issuer.github({ sub: 'repo:acme@1167635/models@860122172:ref:refs/heads/main' }),
      ],
      {
        cwd: dir,
        env,
      },
    );
    expect(r.stdout).toContain(
      "(sub is GitHub's immutable form: owner id 1167635, repository id 860122172)",
    );
  });

  it('refuses garbage and a bad --now clearly', async () => {
    let r = await runCli(['explain', '--token', 'garbage'], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL token_invalid +subject_token is not a JWT/);
    r = await runCli(['explain', '--token', 'x', '--now', 'tomorrow'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--now tomorrow is not a time');
  });
});
