import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ManualClock } from '../../src/shared/clock.js';
import { jsonLogger } from '../../src/shared/log.js';
import { SqliteStore } from '../../src/node/sqlite/store.js';
import { escapeForTerminal, jsonForTerminal } from '../../src/shared/terminal.js';
import { CI_POLICIES } from '../helpers/ci.js';
import {
  EXCHANGE,
  form,
  startBroker,
  tempDir,
  testConfig,
  testConfigObject,
} from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { listen } from '../helpers/listen.js';
import { githubClaims, startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';

/**
 * Everything the CLI prints to a terminal, from every command, with text an
 * attacker chose: escape sequences, C1 controls, bidi overrides and line
 * separators must arrive as visible escapes, never raw.
 */

const CLEAR = '\u001b[2J\u001b[H';
const CSI = '\u009b'; // C1: ESC [ on terminals that take 8-bit controls
const RLO = '\u202e';
const LSEP = '\u2028';
const FAKE = '\nResult: accepted by models-release\n';
/** All of them in one string, as an attacker would send them. */
const EVIL = `${CLEAR}${CSI}2J${RLO}gnp.exe${LSEP}\r${FAKE}`;

/**
 * What must never reach a terminal raw (written out here, not imported, so
 * the test does not trust the code's own list). Newline is allowed: output
 * is made of lines; each test checks that no field added one.
 */
const RAW =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

let dir: string;
let cleanup: () => void;
const env = { HUB_SECRET_SHA256: 'c'.repeat(64) };
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

function writeConfig(extra: Record<string, unknown> = {}): void {
  writeFileSync(
    join(dir, 'tokenbroker.yaml'),
    stringify(testConfigObject({ database: './tokenbroker.db', ...extra })),
  );
}

const resultLines = (out: string) => out.split('\n').filter((l) => /^\s*Result:/.test(l));

describe('escapeForTerminal and jsonForTerminal', () => {
  const cases: Array<[string, string, string]> = [
    ['ESC', '\u001b[2J', '\\x1b[2J'],
    ['carriage return', 'a\rb', 'a\\rb'],
    ['newline, in a field', 'a\nb', 'a\\nb'],
    ['tab, in a field', 'a\tb', 'a\\tb'],
    ['DEL', 'a\u007fb', 'a\\x7fb'],
    ['C1 CSI', '\u009b2J', '\\x9b2J'],
    ['right-to-left override', 'a\u202eb', 'a\\u{202e}b'],
    ['left-to-right isolate', 'a\u2066b', 'a\\u{2066}b'],
    ['right-to-left mark', 'a\u200fb', 'a\\u{200f}b'],
    ['Arabic letter mark', 'a\u061cb', 'a\\u{61c}b'],
    ['line separator', 'a\u2028b', 'a\\u{2028}b'],
    ['paragraph separator', 'a\u2029b', 'a\\u{2029}b'],
    ['zero-width space', 'a\u200bb', 'a\\u{200b}b'],
    ['byte order mark', '\ufeffa', '\\u{feff}a'],
    ['tag character', 'a\u{e0041}b', 'a\\u{e0041}b'],
    ['lone surrogate', 'a\ud800b', 'a\\u{d800}b'],
  ];
  it.each(cases)('shows %s as a visible escape', (_name, text, shown) => {
    expect(escapeForTerminal(text)).toBe(shown);
  });

  it('leaves text in any script alone, emoji sequences included', () => {
    for (const text of [
      'jos\u00e9',
      '\u65e5\u672c\u8a9e',
      '\u0645\u0631\u062d\u0628\u0627',
      '\u{1f469}\u200d\u{1f4bb}',
      '\u00e9\u0301',
    ]) {
      expect(escapeForTerminal(text)).toBe(text);
    }
  });

  it('keeps newlines and tabs in multi-line output, and nothing else', () => {
    expect(escapeForTerminal(`a\tb\nc${RLO}\r`, { multiline: true })).toBe('a\tb\nc\\u{202e}\\r');
  });

  it('is idempotent, and leaves nothing unsafe, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const once = escapeForTerminal(s);
        expect(once).not.toMatch(RAW);
        expect(once).not.toContain('\n');
        expect(escapeForTerminal(once)).toBe(once);
      }),
    );
  });

  it('writes JSON that parses back to the same value and holds nothing unsafe raw', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (v) => {
        const line = jsonForTerminal(v);
        expect(line).not.toMatch(RAW);
        expect(line).not.toContain('\n');
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
    expect(jsonForTerminal({ [EVIL]: EVIL })).toContain('\\u009b2J\\u202egnp.exe\\u2028');
  });
});

describe('tokenbroker explain on a forged token', () => {
  let issuer: TestIssuer;
  beforeEach(async () => {
    issuer = await startTestIssuer();
    writeConfig({
      ci: {
        providers: [
          {
            name: 'github',
            issuer: issuer.url,
            kind: 'github',
            audiences: ['https://broker.test'],
          },
        ],
        policies: [
          ...CI_POLICIES.filter((p) => p.provider === 'github'),
          // A policy whose name and claim came from a careless copy-paste.
          {
            name: `pasted${RLO}`,
            provider: 'github',
            match: { repository: 'acme/models', [`ref${CSI}`]: 'x' },
            grant: ['read:x/*'],
          },
        ],
      },
    });
  });
  afterEach(() => issuer.close());

  it('prints no control, bidi or separator character raw, and only the real Result line', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = {
      ...githubClaims(),
      iss: issuer.url,
      [CLEAR]: 'clears the screen by its name',
      [`name${FAKE}`]: EVIL,
      ref: `refs/heads/main${CLEAR}${FAKE}`,
      repository: `acme/models${CSI}2J${RLO}${LSEP}Result: accepted`,
    };
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;

    const r = await runCli(['explain', '--token', token], { cwd: dir, env });

    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stderr).not.toMatch(RAW);
    expect(resultLines(r.stdout)).toHaveLength(1);
    expect(resultLines(r.stdout)[0]).toMatch(/^Result: refused: /);
    // The operator sees what the token holds, escaped.
    expect(r.stdout).toContain('\\x1b[2J\\x1b[H');
    expect(r.stdout).toContain('name\\nResult: accepted by models-release\\n');
    expect(r.stdout).toContain('acme/models\\u009b2J\\u202e\\u2028Result: accepted');
    expect(r.stdout).toContain('pasted\\u{202e}');
    expect(r.stdout).toContain('ref\\x9b: expected "x"');
    expect(r.stderr).toContain('the broker would refuse this token');
  });
});

describe('tokenbroker audit', () => {
  it('shows rows written by the real broker from a hostile token and user agent safely, as text and as JSON', async () => {
    const issuer = await startTestIssuer();
    try {
      writeConfig();
      const config = await testConfig({
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
      });
      const broker = await startBroker({ config, dir, clock: new ManualClock(Date.now()) });
      const sub = `repo:acme/models:ref:refs/heads/main${EVIL}`;
      const subjectToken = await issuer.github({ sub, repository: `evil/models${RLO}` });
      const init = form({
        grant_type: EXCHANGE.grant_type,
        subject_token: subjectToken,
        subject_token_type: EXCHANGE.idToken,
      });
      const res = await broker.app.request('/token', {
        ...init,
        headers: {
          ...(init.headers as Record<string, string>),
          'User-Agent': `curl\u001b[2J${CSI}31m`,
        },
      });
      expect(res.status).toBe(400);
      await broker.close();

      const text = await runCli(['audit'], { cwd: dir, env });
      expect(text.code).toBe(0);
      expect(text.stdout).not.toMatch(RAW);
      expect(text.stdout.trim().split('\n')).toHaveLength(1);
      expect(text.stdout).toContain(
        'ci:github:repo:acme/models:ref:refs/heads/main\\x1b[2J\\x1b[H\\x9b2J\\u{202e}gnp.exe\\u{2028}\\r\\nResult: accepted',
      );

      const json = await runCli(['audit', '--json'], { cwd: dir, env });
      expect(json.stdout).not.toMatch(RAW);
      const lines = json.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const row = JSON.parse(lines[0]!);
      expect(row.subject).toBe(`ci:github:${sub}`);
      expect(row.userAgent).toBe(`curl\u001b[2J${CSI}31m`);
    } finally {
      await issuer.close();
    }
  });
});

describe('the other commands', () => {
  it('config check shows hostile names from the config escaped', async () => {
    writeConfig({
      ci: {
        providers: [
          {
            name: 'github',
            issuer: 'https://token.actions.githubusercontent.com',
            audiences: ['x'],
          },
        ],
        policies: [
          {
            name: `release${CLEAR}`,
            provider: 'github',
            match: { repository: 'acme/models', [`ref${FAKE}`]: `v${RLO}` },
            grant: ['read:x/*'],
          },
        ],
      },
    });
    const r = await runCli(['config', 'check'], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    expect(resultLines(r.stdout)).toEqual([]);
    expect(r.stdout).toContain('release\\x1b[2J\\x1b[H (provider github');
    expect(r.stdout).toContain('when ref\\nResult: accepted by models-release\\n is "v\\u{202e}"');
  });

  it('a config error shows the hostile key escaped', async () => {
    writeConfig({ [`bogus${CLEAR}`]: 1 });
    const r = await runCli(['config', 'check'], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(RAW);
    expect(r.stderr).toContain('bogus\\x1b[2J\\x1b[H');
  });

  it('revoke and keys show a hostile jti or subject escaped', async () => {
    writeConfig();
    await new SqliteStore(join(dir, 'tokenbroker.db')).close(); // the broker's database exists
    let r = await runCli(['revoke', '--jti', `j${EVIL}`], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(RAW);
    expect(resultLines(r.stderr)).toEqual([]);
    expect(r.stderr).toContain('no token with jti j\\x1b[2J');
    r = await runCli(['revoke', '--subject', `user:${EVIL}`], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('revoked 0 tokens\n');
    r = await runCli(['keys', 'list'], { cwd: dir, env });
    expect(r.stdout).not.toMatch(RAW);
    r = await runCli(['audit'], { cwd: dir, env });
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stdout).toContain('user:\\x1b[2J');
  });

  it("exchange shows a hostile broker's refusal and answer escaped", async () => {
    let answer: () => Response = () => new Response('{}');
    const server = await listen((req) => {
      const base = new URL(req.url).origin;
      if (req.method === 'GET') return Response.json({ token_endpoint: `${base}/token` });
      return answer();
    });
    try {
      const run = () =>
        runCli(['exchange', '--broker', server.url, '--oidc-token-env', 'T'], {
          cwd: dir,
          env: { T: 'not-a-jwt' },
        });
      answer = () =>
        Response.json(
          { error: 'invalid_grant', error_description: `refused${EVIL}` },
          { status: 400 },
        );
      let r = await run();
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(RAW);
      expect(resultLines(r.stderr)).toEqual([]);
      expect(r.stderr).toContain('refused\\x1b[2J\\x1b[H\\x9b2J\\u{202e}gnp.exe');

      answer = () => Response.json({ access_token: `tok${CLEAR}`, scope: `read:x/*${RLO}` });
      r = await run();
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('tok\\x1b[2J\\x1b[H\n');
      expect(r.stderr).not.toMatch(RAW);
      expect(r.stderr).toContain('token for read:x/*\\u{202e}');
    } finally {
      await server.close();
    }
  });
});

describe('jsonLogger', () => {
  it('writes log lines with no control, bidi or separator character raw, that parse back to the values', () => {
    const lines: string[] = [];
    const log = jsonLogger((l) => lines.push(l));
    log.warn(`refused${EVIL}`, { sub: EVIL, nested: { ua: `x${CSI}${LSEP}` } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(RAW);
    expect(lines[0]).not.toContain('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'warn',
      msg: `refused${EVIL}`,
      sub: EVIL,
      nested: { ua: `x${CSI}${LSEP}` },
    });
  });
});
