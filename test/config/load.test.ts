import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { compileTrust } from '../../src/policy/compile.js';
import { formatDuration, parseDuration } from '../../src/protocol/duration.js';

const HASH = 'a'.repeat(64);
const base = () => ({
  issuer: 'https://broker.example.com',
  tokens: { audience: 'https://hub.example.com' },
});
const github = {
  name: 'github',
  issuer: 'https://token.actions.githubusercontent.com',
  audiences: ['https://broker.example.com'],
};
const gitlab = {
  name: 'gitlab',
  issuer: 'https://gitlab.com',
  audiences: ['https://broker.example.com'],
};
const policy = (match: unknown, extra: Record<string, unknown> = {}) => ({
  ci: {
    providers: [github, gitlab],
    policies: [{ name: 'p', provider: 'github', match, grant: ['read:models/acme/*'], ...extra }],
  },
});

function issues(obj: unknown, env: Record<string, string> = {}) {
  try {
    // As every entry loads a config: its shape, then its policies and roles compiled.
    const config = parseConfig(typeof obj === 'string' ? obj : stringify(obj), {
      env,
      source: 'test.yaml',
    });
    compileTrust(config, 'test.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

describe('config loading', () => {
  it('accepts the minimal config and fills every default', () => {
    const c = parseConfig(stringify(base()));
    expect(c.issuer).toBe('https://broker.example.com');
    expect(c.tokens).toEqual({
      audience: 'https://hub.example.com',
      defaultTtl: 900,
      maxTtl: 3600,
      algorithm: 'ES256',
    });
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8787 });
    expect(c.database).toBe('./data/tokenbroker.db');
    expect(c.rateLimit).toEqual({
      perClient: { limit: 300, windowSeconds: 60 },
      perSubject: { limit: 60, windowSeconds: 60 },
      failedAuth: { limit: 20, windowSeconds: 60 },
    });
    expect(c.limits).toEqual({ requestTimeoutSeconds: 30, maxClaimLength: 1024 });
    expect(c.audit.retentionSeconds).toBe(400 * 86400);
  });

  it('accepts JSON as well as YAML', () => {
    const c = parseConfig(JSON.stringify({ ...base(), tokens: { audience: 'x', max_ttl: '2h' } }));
    expect(c.tokens.maxTtl).toBe(7200);
  });

  it.each([
    ['a missing issuer', { tokens: { audience: 'x' } }, 'issuer', 'required: expected string'],
    [
      'an issuer that is not a URL',
      { ...base(), issuer: 'broker' },
      'issuer',
      'expected an http(s) URL without query or fragment, e.g. https://broker.example.com',
    ],
    [
      'an unknown top-level key',
      { ...base(), tokenz: {} },
      '',
      'unknown key tokenz: did you mean tokens?',
    ],
    [
      'a misspelt nested key',
      { ...base(), tokens: { audience: 'x', max_tll: '1h' } },
      'tokens',
      'unknown key max_tll: did you mean max_ttl?',
    ],
    [
      'a bad duration',
      { ...base(), tokens: { audience: 'x', max_ttl: '1 hour' } },
      'tokens.max_ttl',
      'expected a duration such as 90s, 15m, 8h or 1d, got "1 hour"',
    ],
    [
      'an unknown algorithm',
      { ...base(), tokens: { audience: 'x', algorithm: 'HS256' } },
      'tokens.algorithm',
      'expected one of "ES256", "EdDSA", "RS256", got string "HS256"',
    ],
    [
      'default_ttl over max_ttl',
      { ...base(), tokens: { audience: 'x', default_ttl: '2h', max_ttl: '1h' } },
      'tokens.default_ttl',
      'default_ttl is longer than max_ttl: shorten it or raise tokens.max_ttl',
    ],
    [
      'a secret hash that is not hex',
      { ...base(), resource_servers: [{ client_id: 'hub', client_secret_sha256: 'secret' }] },
      'resource_servers[0].client_secret_sha256',
      'expected the SHA-256 of the secret as 64 hex characters (e.g. `printf %s "$SECRET" | sha256sum`)',
    ],
    [
      'a port of the wrong type',
      { ...base(), listen: { port: 'eighty' } },
      'listen.port',
      'expected a port number',
    ],
    [
      'a policy without a pin',
      { ...base(), ...policy({ ref: 'refs/heads/main' }) },
      'ci.policies[0].match',
      'a policy must pin repository, repository_id or sub',
    ],
    [
      'a GitLab policy without a pin',
      {
        ...base(),
        ci: {
          providers: [gitlab],
          policies: [
            { name: 'p', provider: 'gitlab', match: { ref: 'main' }, grant: ['read:x/y'] },
          ],
        },
      },
      'ci.policies[0].match',
      'a policy must pin project_path, project_id or sub',
    ],
    [
      'a pin that starts with a wildcard',
      { ...base(), ...policy({ repository: '*/models' }) },
      'ci.policies[0].match',
      'repository */models starts with a wildcard: any repository on github could use this policy; pin it with a literal value',
    ],
    [
      'a pin whose owner is a glob',
      { ...base(), ...policy({ repository: 'acme*/models' }) },
      'ci.policies[0].match',
      'repository acme*/models does not spell its owner literally: any repository on github could use this policy whose owner name matches; write the owner in full, e.g. acme/*',
    ],
    [
      'a sub pin that matches any repository',
      { ...base(), ...policy({ sub: 'repo:**' }) },
      'ci.policies[0].match',
      'sub repo:** does not spell its owner literally: any repository on github could use this policy whose owner name matches; write the owner in full, e.g. acme/*',
    ],
    [
      'a regex pin with a leading wildcard',
      { ...base(), ...policy({ repository: { regex: '.*/models' } }) },
      'ci.policies[0].match',
      'repository /.*/models/ starts with a wildcard: any repository on github could use this policy; pin it with a literal value',
    ],
    [
      'a repository_id glob',
      { ...base(), ...policy({ repository_id: '12*' }) },
      'ci.policies[0].match',
      'repository_id must be an exact numeric id, not 12*',
    ],
    [
      'one wildcard alternative in a list',
      { ...base(), ...policy({ repository: ['acme/models', '**'] }) },
      'ci.policies[0].match',
      'repository ** starts with a wildcard: any repository on github could use this policy; pin it with a literal value',
    ],
    [
      'a regex pin with a top-level alternative',
      { ...base(), ...policy({ repository: { regex: 'acme/models|.*' } }) },
      'ci.policies[0].match',
      'repository /acme/models|.*/ has a top-level | alternative: any repository on github could use this policy; write the alternatives as a list instead',
    ],
    [
      'a regex pin whose slash is optional',
      { ...base(), ...policy({ repository: { regex: 'acme/?.*' } }) },
      'ci.policies[0].match',
      'repository /acme/?.*/ does not spell its owner literally: any repository on github could use this policy whose owner name matches; write the owner in full, e.g. acme/*',
    ],
    [
      'a regex pin whose owner is quantified',
      { ...base(), ...policy({ repository: { regex: 'acme/*.*' } }) },
      'ci.policies[0].match',
      'repository /acme/*.*/ does not spell its owner literally: any repository on github could use this policy whose owner name matches; write the owner in full, e.g. acme/*',
    ],
    [
      'a sub regex with a top-level alternative',
      { ...base(), ...policy({ sub: { regex: 'repo:acme/models:.*|.*' } }) },
      'ci.policies[0].match',
      'sub /repo:acme/models:.*|.*/ has a top-level | alternative: any repository on github could use this policy; write the alternatives as a list instead',
    ],
    [
      'a GitLab project_path regex with a top-level alternative',
      {
        ...base(),
        ci: {
          providers: [gitlab],
          policies: [
            {
              name: 'p',
              provider: 'gitlab',
              match: { project_path: { regex: 'acme/x|.+' } },
              grant: ['read:x/y'],
            },
          ],
        },
      },
      'ci.policies[0].match',
      'project_path /acme/x|.+/ has a top-level | alternative: any project on gitlab could use this policy; write the alternatives as a list instead',
    ],
    [
      'two policies with one name',
      {
        ...base(),
        ci: {
          providers: [github],
          policies: [
            { name: 'p', provider: 'github', match: { repository: 'acme/a' }, grant: ['write:**'] },
            { name: 'p', provider: 'github', match: { repository: 'acme/b' }, grant: ['read:x/y'] },
          ],
        },
      },
      'ci.policies[1].name',
      'duplicate policy name p: give each policy its own name',
    ],
    [
      'a policy for an unknown provider',
      {
        ...base(),
        ci: {
          providers: [github],
          policies: [{ name: 'p', provider: 'gitlab', match: { sub: 'x' }, grant: ['read:x/y'] }],
        },
      },
      'ci.policies[0].provider',
      'unknown provider "gitlab": expected one of github',
    ],
    [
      'a regex that does not compile',
      { ...base(), ...policy({ repository: 'acme/models', actor: { regex: '(alice' } }) },
      'ci.policies[0].match.actor',
      'invalid regex /(alice/: Invalid regular expression: /^(?:(alice)$/: Unterminated group',
    ],
    [
      'a malformed scope in a grant',
      { ...base(), ...policy({ repository: 'acme/models' }, { grant: ['models/acme/*'] }) },
      'ci.policies[0].grant[0]',
      '"models/acme/*" is not a scope: write <permission>:<resource>, e.g. read:models/acme/bert (letters, digits and ._~@+=*/- in the resource, at most 200 characters)',
    ],
    [
      'a bad rate',
      { ...base(), rate_limit: { per_client: 'lots' } },
      'rate_limit.per_client',
      'expected requests/window such as 300/1m, got "lots"',
    ],
    [
      'a claim cap over 64 KiB',
      { ...base(), limits: { max_claim_length: 100000 } },
      'limits.max_claim_length',
      'expected at most 65536: a CI token is at most 16 KiB, and every compared claim costs up to this much',
    ],
    [
      'a request timeout of no time',
      { ...base(), limits: { request_timeout: '0s' } },
      'limits.request_timeout',
      'expected a lifetime of at least 1s',
    ],
  ])('reports %s with its path and what was expected', (_name, obj, path, message) => {
    expect(issues(obj)).toContainEqual({ path, message });
  });

  it('reports every error at once, not only the first', () => {
    const found = issues({ issuer: 'nope', tokens: { audience: '', algorithm: 'none' } });
    expect(found.map((i) => i.path).sort()).toEqual([
      'issuer',
      'tokens.algorithm',
      'tokens.audience',
    ]);
  });

  it('explains YAML syntax errors', () => {
    const [issue] = issues('issuer: [unclosed');
    expect(issue!.path).toBe('');
    expect(issue!.message).toMatch(/^not valid YAML or JSON: /);
  });

  it('accepts safe pins: exact, owner globs, ids and anchored regexes', () => {
    for (const match of [
      { repository: 'acme/models' },
      { repository: 'acme/*' },
      { repository_id: '123456' },
      { repository: { regex: 'acme/(models|data)' } },
      { sub: 'repo:acme/models:ref:refs/heads/main' },
      { sub: 'repo:acme@42/models@7:environment:prod' },
    ]) {
      expect(issues({ ...base(), ...policy(match) }), JSON.stringify(match)).toEqual([]);
    }
  });

  it('replaces ${NAME} with the environment variable', () => {
    const c = parseConfig(
      stringify({
        ...base(),
        resource_servers: [{ client_id: 'hub', client_secret_sha256: '${HUB}' }],
      }),
      { env: { HUB: HASH } },
    );
    expect(c.resourceServers).toEqual([{ clientId: 'hub', secretSha256: HASH }]);
  });

  it('fails when a referenced environment variable is unset, naming it and its path', () => {
    expect(
      issues({
        ...base(),
        resource_servers: [{ client_id: 'hub', client_secret_sha256: '${HUB_SECRET_SHA256}' }],
      }),
    ).toEqual([
      {
        path: 'resource_servers[0].client_secret_sha256',
        message:
          'environment variable HUB_SECRET_SHA256 is not set: set it, or write the value in the file',
      },
    ]);
  });

  it('never lets an environment value change the structure of the config', () => {
    const c = parseConfig(stringify({ ...base(), tokens: { audience: '${AUD}' } }), {
      env: { AUD: 'x\nissuer: https://evil.example' },
    });
    expect(c.issuer).toBe('https://broker.example.com');
    expect(c.tokens.audience).toBe('x\nissuer: https://evil.example');
  });

  it('accepts a port from the environment', () => {
    const c = parseConfig(stringify({ ...base(), listen: { port: '${PORT}' } }), {
      env: { PORT: '9000' },
    });
    expect(c.listen.port).toBe(9000);
  });

  it.each([
    ['a provider issuer', { issuer: 'http://gitlab.example.com' }, 'ci.providers[0].issuer'],
    ['a jwks_uri', { jwks_uri: 'http://keys.example.com/jwks' }, 'ci.providers[0].jwks_uri'],
  ])('refuses plain http for %s except on loopback', (_name, override, path) => {
    const cfg = { ...base(), ci: { providers: [{ ...github, ...override }], policies: [] } };
    expect(issues(cfg)).toContainEqual({
      path,
      message:
        'expected an https URL: keys fetched over plain http could be replaced by anyone on the network path (http is accepted on loopback only)',
    });
    const loopback = {
      ...base(),
      ci: { providers: [{ ...github, issuer: 'http://127.0.0.1:9999' }], policies: [] },
    };
    expect(issues(loopback)).toEqual([]);
  });

  it('refuses a zero lifetime', () => {
    expect(
      issues({ ...base(), tokens: { audience: 'x', max_ttl: '0s', default_ttl: '0s' } }),
    ).toContainEqual({
      path: 'tokens.max_ttl',
      message: 'expected a lifetime of at least 1s',
    });
  });

  it.each(['session_ttl', 'session_idle_timeout'])(
    'refuses a zero sso.%s, which would end every session at once',
    (key) => {
      expect(issues({ ...base(), sso: { [key]: '0s' } })).toContainEqual({
        path: `sso.${key}`,
        message: 'expected a lifetime of at least 1s',
      });
    },
  );

  it('turns rate_limit: false into no limit', () => {
    expect(parseConfig(stringify({ ...base(), rate_limit: false })).rateLimit).toBe(false);
  });

  it('compiles policy matchers once, with globs and anchored regexes', () => {
    const c = parseConfig(
      stringify({
        ...base(),
        ...policy({
          repository: 'acme/models',
          ref: ['refs/heads/main', 'refs/tags/v*'],
          actor: { regex: 'alice|bob' },
        }),
      }),
    );
    const [repo, ref, actor] = compileTrust(c).policies[0]!.conditions;
    expect(repo!.test('acme/models')).toBe(true);
    expect(repo!.test('acme/models-evil')).toBe(false);
    expect(ref!.test('refs/tags/v1.2')).toBe(true);
    expect(ref!.test('refs/tags/v1/evil')).toBe(false);
    expect(actor!.test('alice')).toBe(true);
    expect(actor!.test('malice')).toBe(false);
    expect(actor!.test('alice2')).toBe(false);
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['8h', 28800],
    ['1d', 86400],
    ['600', 600],
    [600, 600],
  ])('parses %s as %i seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each(['', '1', '-5s', '1.5h', '15 m', '1w', 'h', -1, 1.5])('refuses %j', (input) => {
    expect(parseDuration(input as string)).toBe(input === '1' ? 1 : undefined);
  });

  it('formats seconds for messages', () => {
    expect(formatDuration(192)).toBe('3m12s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(90061)).toBe('1d1h1m1s');
  });
});
