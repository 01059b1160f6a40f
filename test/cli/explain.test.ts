import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CI_POLICIES } from '../helpers/ci.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import { tempDir, testConfigObject } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { mintAsServer } from '../helpers/server-db.js';
import { loadConfigFile } from '../../src/node/config-file.js';
import { openBroker } from '../../src/node/open.js';
import type { OwnTokenCheck } from '../../src/tokens/verify.js';

const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');

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

describe('tokenbroker explain, for a token this broker issued', () => {
  const configPath = () => join(dir, 'tokenbroker.yaml');
  const config = () => loadConfigFile(configPath(), env).config;
  const explain = (token: string, ...args: string[]) =>
    runCli(['explain', '--token', token, ...args], { cwd: dir, env });

  /** `token`'s header and claims, changed, signed with the broker's key (or `key`) from its database. */
  async function resign(
    token: string,
    claims: Record<string, unknown>,
    key?: KeyObject,
  ): Promise<string> {
    const { store, keys } = await openBroker(config());
    const own = await keys.signingKey();
    await store.close();
    const header = { alg: own.alg, kid: own.kid, typ: 'at+jwt' };
    const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify({ ...decodeJwt(token), ...claims }))}`;
    const signer = key ?? createPrivateKey({ key: own.privateJwk as never, format: 'jwk' });
    return `${input}.${b64(sign('sha256', Buffer.from(input), { key: signer, dsaEncoding: 'ieee-p1363' }))}`;
  }

  it('shows every check of a live token as the broker makes them, and accepts it', async () => {
    const { token, jti } = await mintAsServer(config(), 'user:alice@example.com');
    const r = await explain(token);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Checks of a token this broker issued');
    for (const check of [
      'size',
      'syntax',
      'alg',
      'signature',
      'typ',
      'iss',
      'aud',
      'iat',
      'exp',
      'claims',
    ])
      expect(r.stdout).toMatch(new RegExp(`^  ok {3}${check} `, 'm'));
    expect(r.stdout).toMatch(
      /ok {3}recorded +issued to user:alice@example.com with scope read:models\/a\/b/,
    );
    expect(r.stdout).toMatch(/ok {3}revoked +not revoked/);
    expect(r.stdout).toMatch(new RegExp(`jti +"${jti}"`));
    expect(r.stdout).toContain('Result: accepted');
    expect(r.stdout).not.toContain('Trust policies');
  });

  const refusals: Array<[string, OwnTokenCheck, (t: string) => Promise<string[]>, RegExp]> = [
    [
      'a payload widened under the real signature',
      'signature',
      async (t) => {
        const [h, , s] = t.split('.');
        return [`${h}.${b64(JSON.stringify({ ...decodeJwt(t), scope: 'write:**' }))}.${s}`];
      },
      /token signature does not verify/,
    ],
    [
      'a token signed by another key under the broker’s kid',
      'signature',
      async (t) => [
        await resign(t, {}, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
      ],
      /token signature does not verify/,
    ],
    [
      'the broker’s key but another audience',
      'aud',
      async (t) => [await resign(t, { aud: 'https://other-hub.test' })],
      /token claim aud is not acceptable/,
    ],
    [
      'the broker’s key but a jti it never issued',
      'recorded',
      async (t) => [await resign(t, { jti: 'never-issued' })],
      /token is not known to this broker/,
    ],
    [
      'the real token after `tokenbroker revoke`',
      'revoked',
      async (t) => {
        const r = await runCli(['revoke', '--jti', decodeJwt(t).jti!], { cwd: dir, env });
        expect(r.code).toBe(0);
        return [t];
      },
      /token has been revoked: get a new one/,
    ],
    [
      'the real token explained as of a time after it expired',
      'exp',
      async (t) => [t, '--now', String(decodeJwt(t).exp! + 60)],
      /token expired 1m ago: get a new one/,
    ],
  ];

  it.each(refusals)('names the failed check of %s and exits 1', async (_name, check, make, why) => {
    const minted = await mintAsServer(config(), 'user:alice@example.com');
    const [token, ...args] = await make(minted.token);
    const r = await explain(token!, ...args);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^  FAIL ${check} +${why.source}`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^Result: refused: ${why.source}`, 'm'));
    expect(r.stdout.match(/^ {2}FAIL/gm)).toHaveLength(1);
    expect(r.stderr).toContain('the broker would refuse this token');
  });

  it('reads the broker’s database without writing to it', async () => {
    const { token } = await mintAsServer(config(), 'user:alice@example.com');
    const db = join(dir, 'tb.db');
    const before = createHash('sha256').update(readFileSync(db)).digest('hex');
    expect((await explain(token)).code).toBe(0);
    expect(createHash('sha256').update(readFileSync(db)).digest('hex')).toBe(before);
  });

  it('says that the database is needed when there is none, and creates none', async () => {
    const { token } = await mintAsServer(config(), 'user:alice@example.com');
    const elsewhere = join(dir, 'elsewhere.yaml');
    writeFileSync(elsewhere, stringify(testConfigObject({ database: './missing.db' })));
    const r = await runCli(['explain', '--config', elsewhere, '--token', token], { cwd: dir, env });
    expect(r.code).toBe(1);
    const missing = join(dir, 'missing.db');
    expect(r.stdout).toContain(`not checked: there is no database at ${missing}`);
    expect(r.stdout).toContain(
      'Result: unknown: the broker database is needed to check this token',
    );
    expect(r.stdout).toMatch(/sub +"user:alice@example.com"/);
    expect(r.stderr).toContain('cannot check a token of this broker: there is no database at');
    expect(r.stderr).toContain("run explain where it is, with the broker's --config");
    expect(existsSync(missing)).toBe(false);
  });

  it('says that an in-memory database cannot be read from the command line', async () => {
    const { token } = await mintAsServer(config(), 'user:alice@example.com');
    const memory = join(dir, 'memory.yaml');
    writeFileSync(memory, stringify(testConfigObject({ database: ':memory:' })));
    const r = await runCli(['explain', '--config', memory, '--token', token], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('not checked: the config keeps the database in memory');
  });
});
