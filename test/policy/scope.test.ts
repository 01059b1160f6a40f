import { describe, expect, it } from 'vitest';
import { compileGlob, globCovers } from '../../src/policy/glob.js';
import { decideScopes } from '../../src/policy/grants.js';
import { normalizeResource, scopeCovers } from '../../src/policy/scope.js';
import { parseScopeParam } from '../../src/protocol/scope.js';
import { BrokerError } from '../../src/shared/errors.js';

describe('globs', () => {
  it.each([
    ['acme/*', 'acme/models', true],
    ['acme/*', 'acme/models/x', false],
    ['acme/**', 'acme/models/x', true],
    ['acme/*', 'acme/', true],
    ['acme/models', 'acme/models-evil', false],
    ['acme/models*', 'acme/models-evil', true],
    ['refs/tags/v*', 'refs/tags/v1.0', true],
    ['a.b', 'axb', false],
    ['(x)', '(x)', true],
  ])('%s against %s is %s', (glob, value, expected) => {
    expect(compileGlob(glob).test(value)).toBe(expected);
  });

  it.each([
    ['**', 'models/acme/*', true],
    ['models/acme/*', 'models/acme/bert', true],
    ['models/acme/*', 'models/acme/*', true],
    ['models/acme/**', 'models/acme/*', true],
    ['models/acme/*', 'models/acme/**', false],
    ['models/acme/*', 'models/*/bert', false],
    ['models/acme/*', 'models/acme/bert/x', false],
    ['models/*/bert', 'models/acme/bert', true],
    ['models/ac*', 'models/acme*', true],
    ['models/acme*', 'models/ac*', false],
  ])('%s covers %s: %s', (outer, inner, expected) => {
    expect(globCovers(outer, inner)).toBe(expected);
  });
});

describe('scopes', () => {
  it.each([
    ['write:models/acme/*', 'write:models/acme/bert', true],
    ['write:models/acme/*', 'read:models/acme/bert', false],
    ['read:**', 'read:datasets/acme/x', true],
    ['*:models/acme/*', 'admin:models/acme/bert', true],
    ['read:models/acme/*', 'read:models/acme/*', true],
    ['read:models/acme/*', 'read:**', false],
  ])('grant %s covers %s: %s', (grant, requested, expected) => {
    expect(scopeCovers(grant, requested)).toBe(expected);
  });

  it.each([
    ['a control character', 'read:models/acme/\u001b]0;pwned\u0007'],
    ['a parent segment', 'read:models/../secret'],
    ['an empty segment', 'read:models//x'],
    ['a space', 'read:models/a b'],
    ['a resource over 200 characters', `read:${'a'.repeat(201)}`],
    ['an upper-case permission', 'READ:models/a/b'],
  ])('refuses a scope with %s', (_name, scope) => {
    expect(() => parseScopeParam(scope)).toThrow(/is not a scope/);
  });

  it('refuses more than 50 scopes in one request', () => {
    const many = Array.from({ length: 51 }, (_, i) => `read:models/a/m${i}`).join(' ');
    expect(() => parseScopeParam(many)).toThrow('51 scopes: at most 50 fit in one token');
  });

  it('decides coverage of adversarial globs without backtracking', () => {
    // Many ** in the outer pattern against a long inner one: exponential or
    // cubic matchers stall here; the table-driven one answers at once.
    const outer = `${'**a'.repeat(60)}c`;
    const inner = `${'a'.repeat(199)}b`;
    expect(globCovers(outer, inner)).toBe(false);
    expect(globCovers(outer, `${'a'.repeat(60)}c`)).toBe(true);
  });

  it.each([
    ['acme/bert', 'models/acme/bert'],
    ['datasets/acme/corpus', 'datasets/acme/corpus'],
    ['spaces/acme/demo', 'spaces/acme/demo'],
    ['models/acme/bert', 'models/acme/bert'],
  ])('reads the Hugging Face resource %s as %s', (input, expected) => {
    expect(normalizeResource(input)).toBe(expected);
  });

  it.each(['acme', 'acme/*', 'a/b/c', 'datasets/../x', 'acme//x', 'foo/acme/bert', 'acme/b c'])(
    'refuses the resource %j',
    (input) => {
      expect(() => normalizeResource(input)).toThrow(BrokerError);
    },
  );

  const grants = [
    { source: 'release', scopes: ['write:models/acme/*', 'read:datasets/acme/**'], maxTtl: 1800 },
    { source: 'readers', scopes: ['read:models/**'], maxTtl: 3600 },
  ];

  it('grants the union of every matched grant when no scope is asked', () => {
    const d = decideScopes(grants, {});
    expect(d.scopes).toEqual(['write:models/acme/*', 'read:datasets/acme/**', 'read:models/**']);
    expect(d.maxTtl).toBe(1800);
  });

  it('caps the lifetime by the smallest max_ttl among grants that granted a requested scope', () => {
    expect(decideScopes(grants, { scopes: ['read:models/other/x'] }).maxTtl).toBe(3600);
    expect(decideScopes(grants, { scopes: ['write:models/acme/x'] }).maxTtl).toBe(1800);
    expect(
      decideScopes(grants, { scopes: ['write:models/acme/x', 'read:models/other/x'] }).maxTtl,
    ).toBe(1800);
  });

  it('refuses a scope no grant covers, naming it', () => {
    expect(() => decideScopes(grants, { scopes: ['write:datasets/acme/x'] })).toThrow(
      'scope write:datasets/acme/x is not granted',
    );
  });

  it('narrows to one resource with every permission granted on it, and nothing else', () => {
    expect(decideScopes(grants, { resource: 'acme/bert' }).scopes).toEqual([
      'write:models/acme/bert',
      'read:models/acme/bert',
    ]);
    expect(decideScopes(grants, { resource: 'datasets/acme/corpus' }).scopes).toEqual([
      'read:datasets/acme/corpus',
    ]);
  });

  it('narrows a grant of every permission (*) to that one resource', () => {
    const d = decideScopes([{ source: 'admins', scopes: ['*:models/acme/*'] }], {
      resource: 'acme/bert',
    });
    expect(d.scopes).toEqual(['*:models/acme/bert']);
    expect(scopeCovers(d.scopes[0]!, 'write:models/acme/bert')).toBe(true);
    expect(scopeCovers(d.scopes[0]!, 'write:models/acme/other')).toBe(false);
  });

  it('refuses a resource with no granted permission', () => {
    const e = (() => {
      try {
        decideScopes(grants, { resource: 'spaces/acme/demo' });
      } catch (err) {
        return err as BrokerError;
      }
    })();
    expect(e?.code).toBe('invalid_target');
    expect(e?.message).toBe(
      'no permission is granted on spaces/acme/demo: ask for a resource your trust policy or role grants',
    );
  });

  it('refuses a scope outside the named resource', () => {
    expect(() =>
      decideScopes(grants, { resource: 'acme/bert', scopes: ['read:models/acme/other'] }),
    ).toThrow('scope read:models/acme/other is not granted on resource models/acme/bert');
  });
});
