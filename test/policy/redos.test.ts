import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { compileTrust } from '../../src/policy/compile.js';
import { compileGlob } from '../../src/policy/glob.js';
import { startCi, type CiSetup } from '../helpers/ci.js';

// The three matchers of issue 9 that took seconds on V8's backtracking engine.
const ISSUE_REGEX = { regex: 'refs/heads/(release-)?([a-z0-9]+-?)+' };
const TAGS = 'refs/tags/v*.*.*';
const STARS = 'acme/*a*a*a*a*b';

const github = {
  name: 'github',
  issuer: 'https://token.actions.githubusercontent.com',
  audiences: ['https://broker.example.com'],
};

/** The compiled conditions of one policy, as the broker runs them. */
function conditions(match: Record<string, unknown>, limits: Record<string, unknown> = {}) {
  const config = parseConfig(
    stringify({
      issuer: 'https://broker.example.com',
      tokens: { audience: 'https://hub.example.com' },
      limits,
      ci: {
        providers: [github],
        policies: [{ name: 'p', provider: 'github', match, grant: ['read:models/acme/*'] }],
      },
    }),
  );
  return Object.fromEntries(compileTrust(config).policies[0]!.conditions.map((c) => [c.claim, c]));
}

function configIssues(match: Record<string, unknown>) {
  try {
    conditions(match);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

describe('claims cost linear time whatever the matcher', () => {
  // The claim cap is lifted so the engines themselves read every character.
  const long = { max_claim_length: 65_536 };

  it('refuses the issue’s regex on refs/heads/ + 20,000 a’s + "!", and still matches real refs', () => {
    const { ref } = conditions({ repository: 'acme/models', ref: ISSUE_REGEX }, long);
    expect(ref!.test(`refs/heads/${'a'.repeat(20_000)}!`)).toBe(false);
    expect(ref!.test(`refs/heads/${'a'.repeat(20_000)}`)).toBe(true);
    expect(ref!.test('refs/heads/release-abc-def')).toBe(true);
    expect(ref!.test('refs/heads/Main')).toBe(false);
  });

  it('refuses refs/tags/v*.*.* on a 20,000-character claim, and still matches a version tag', () => {
    const { ref } = conditions({ repository: 'acme/models', ref: TAGS }, long);
    expect(ref!.test(`refs/tags/v${'.'.repeat(20_000)}/`)).toBe(false);
    expect(ref!.test(`refs/tags/v${'1.'.repeat(10_000)}`)).toBe(true);
    expect(ref!.test('refs/tags/v1.2.3')).toBe(true);
    expect(ref!.test('refs/tags/v1.2')).toBe(false);
  });

  it('refuses acme/*a*a*a*a*b on acme/ + 20,000 a’s, and still matches its own shape', () => {
    const { repository } = conditions({ repository: STARS }, long);
    expect(repository!.test(`acme/${'a'.repeat(20_000)}`)).toBe(false);
    expect(repository!.test(`acme/${'a'.repeat(20_000)}b`)).toBe(true);
    expect(repository!.test('acme/xaxaxaxab')).toBe(true);
  });

  it.each([
    ['*', 'models', true],
    ['*', 'acme/models', false],
    ['**', 'acme/models/x', true],
    ['**', '', true],
    ['acme/*', 'acme/', true],
    ['acme/*', 'acme/x/y', false],
    ['acme/**', 'acme/x/y', true],
    ['acme/*/bert', 'acme/x/bert', true],
    ['acme/*/bert', 'acme/x/y/bert', false],
    ['acme/**/bert', 'acme/x/y/bert', true],
    ['acme/***', 'acme/x/y', true],
    ['v*.*', 'v1.2', true],
    ['v*.*', 'v12', false],
    ['a.c*', 'abc', false],
    ['(x)*', '(x)y', true],
    ['[ab]*', 'a', false],
    ['x*y', 'x/y', false],
  ])('keeps glob semantics: %j on %j is %s', (pattern, value, expected) => {
    expect(compileGlob(pattern).test(value)).toBe(expected);
  });
});

describe('limits.max_claim_length', () => {
  const at = (n: number, prefix: string) => prefix + 'x'.repeat(n - prefix.length);

  it.each([
    ['exact', 'repository', (v: string) => v],
    ['glob', 'repository', () => 'acme/*'],
    ['regex', 'repository', () => ({ regex: 'acme/x+' })],
  ])('never matches a longer claim, with a(n) %s matcher', (_kind, claim, spec) => {
    const fits = at(1024, 'acme/');
    const over = at(1025, 'acme/');
    expect(conditions({ [claim]: spec(fits) })[claim]!.test(fits)).toBe(true);
    expect(conditions({ [claim]: spec(over) })[claim]!.test(over)).toBe(false);
  });

  it('follows the configured length', () => {
    const { actor } = conditions(
      { repository: 'acme/models', actor: 'alice*' },
      { max_claim_length: 8 },
    );
    expect(actor!.test('alice123')).toBe(true);
    expect(actor!.test('alice1234')).toBe(false);
  });
});

describe('config refuses a regex the linear engine cannot run', () => {
  it.each([
    ['a lookahead', '(?=x)acme/.*', 'lookahead and lookbehind'],
    ['a negative lookahead', 'refs/heads/(?!main).*', 'lookahead and lookbehind'],
    ['a lookbehind', 'refs/heads/.*(?<=-rc)', 'lookahead and lookbehind'],
    ['a negative lookbehind', 'refs/heads/.*(?<!-rc)', 'lookahead and lookbehind'],
    ['a backreference', 'refs/heads/(a+)\\1', 'backreferences'],
    ['a named backreference', 'refs/heads/(?<x>a+)\\k<x>', 'backreferences'],
  ])('refuses %s, naming the field and what to do', (_name, regex, what) => {
    const issues = configIssues({ repository: 'acme/models', ref: { regex } });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('ci.policies[0].match.ref');
    expect(issues[0]!.message).toContain(`regex /${regex}/ cannot run on the broker's linear-time`);
    expect(issues[0]!.message).toContain(`${what} (`);
    expect(issues[0]!.message).toContain('rewrite it without that construct');
  });

  it('accepts groups, classes, repeats and named groups', () => {
    expect(
      configIssues({
        repository: 'acme/models',
        ref: { regex: 'refs/(heads|tags)/(?<v>[\\w.-]{1,40})' },
      }),
    ).toEqual([]);
  });
});

describe('a policy checks its project pins first and stops at the first failed condition', () => {
  let ci: CiSetup;
  beforeAll(async () => {
    ci = await startCi({
      policies: [
        {
          name: 'release',
          provider: 'github',
          // Written with the regex first: the compiler still puts the pin first.
          match: { ref: ISSUE_REGEX, actor: 'alice', repository: 'acme/models' },
          grant: ['read:models/acme/*'],
        },
      ],
    });
  });
  afterAll(() => ci.close());

  async function deniedConditions() {
    const rows = await ci.broker.store.queryAudit({ outcome: 'denied' });
    const detail = rows.at(-1)!.detail as {
      policies: { policy: string; conditions: Record<string, unknown>[] }[];
    };
    return detail.policies[0]!.conditions;
  }

  it('never runs the regex of a policy pinned to another repository', async () => {
    const ref = `refs/heads/${'a'.repeat(29)}!`;
    const res = await ci.exchange(await ci.github.github({ repository: 'evil/models', ref }));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('invalid_grant');
    const conditions = await deniedConditions();
    expect(conditions.map((c) => [c.claim, c.matched, c.skipped])).toEqual([
      ['repository', false, undefined],
      ['ref', false, true],
      ['actor', false, true],
    ]);
  });

  it('refuses its own repository’s ref of 1,000 a’s and "!" through the regex, promptly', async () => {
    const ref = `refs/heads/${'a'.repeat(1000)}!`;
    const res = await ci.exchange(await ci.github.github({ ref }));
    expect(res.status).toBe(400);
    const conditions = await deniedConditions();
    expect(conditions.map((c) => [c.claim, c.matched, c.skipped])).toEqual([
      ['repository', true, undefined],
      ['ref', false, undefined],
      ['actor', false, true],
    ]);
  });

  it('still issues when every condition holds', async () => {
    const res = await ci.exchange(await ci.github.github({ ref: 'refs/heads/release-v2' }));
    expect(res.status).toBe(200);
  });
});
