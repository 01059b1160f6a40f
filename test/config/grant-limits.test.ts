import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';

/**
 * A grant is what a token carries when the caller names no scope, and the
 * Minter refuses a token of more than 50 scopes or 4096 characters of them:
 * a grant over either limit could never be issued as it stands, so the
 * config is refused at load, where the operator can fix it.
 */
const base = {
  issuer: 'https://broker.example.com',
  tokens: { audience: 'https://hub.example.com' },
};
const github = {
  name: 'github',
  issuer: 'https://token.actions.githubusercontent.com',
  audiences: ['https://broker.example.com'],
};
const scopes = (n: number, width = 20) =>
  Array.from({ length: n }, (_, i) => `read:models/acme/${String(i).padStart(width, '0')}`);

function issues(grant: string[]): Array<{ path: string; message: string }> {
  const config = {
    ...base,
    ci: {
      providers: [github],
      policies: [{ name: 'p', provider: 'github', match: { repository: 'acme/m' }, grant }],
    },
  };
  try {
    parseConfig(stringify(config), { env: {}, source: 'test.yaml' });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues as Array<{ path: string; message: string }>;
    throw e;
  }
  return [];
}

describe('a grant the Minter could never issue', () => {
  it.each([
    { name: '50 scopes', grant: scopes(50), count: 0 },
    { name: '51 scopes', grant: scopes(51), count: 1 },
    { name: 'just under 4096 characters of scopes', grant: scopes(30, 118), count: 0 },
    { name: 'more than 4096 characters of scopes', grant: scopes(40, 110), count: 1 },
  ])('$name: $count problem(s)', ({ grant, count }) => {
    const found = issues(grant);
    expect(found).toHaveLength(count);
    if (count) expect(JSON.stringify(found)).toMatch(/at most .* fit in one token/);
  });
});
