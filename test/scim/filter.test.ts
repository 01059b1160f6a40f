import { describe, expect, it } from 'vitest';
import { matches, parseFilter } from '../../src/scim/filter.js';
import { parsePatchPath } from '../../src/scim/path.js';
import { isBrokerError } from '../../src/shared/errors.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('SCIM filters', () => {
  it('reads comparisons joined by and, with any case of operator, and JSON values', () => {
    expect(parseFilter('userName Eq "a\\"b@x.io" and active eq true and x.y pr')).toEqual([
      { path: { uri: null, attr: 'userName', sub: null }, op: 'eq', value: 'a"b@x.io' },
      { path: { uri: null, attr: 'active', sub: null }, op: 'eq', value: true },
      { path: { uri: null, attr: 'x', sub: 'y' }, op: 'pr' },
    ]);
    expect(parseFilter(`${ENTERPRISE}:employeeNumber eq 42`)).toEqual([
      { path: { uri: ENTERPRISE, attr: 'employeeNumber', sub: null }, op: 'eq', value: 42 },
    ]);
  });

  it.each([
    ['a long run with no spaces', 'a'.repeat(1024)],
    ['a long run of escapes', `a eq "${'\\'.repeat(1000)}`],
    ['many ands', Array(200).fill('a eq "b"').join(' and ').slice(0, 1024)],
    ['nested brackets', '['.repeat(1024)],
  ])('refuses %s quickly with invalidFilter', (_name, text) => {
    const start = performance.now();
    let error: unknown;
    try {
      parseFilter(text);
    } catch (e) {
      error = e;
    }
    expect(performance.now() - start).toBeLessThan(50);
    expect(isBrokerError(error) && error.code).toBe('scim_invalid_filter');
  });

  it('picks values of a multi-valued attribute, comparing strings without ASCII case', () => {
    const f = parseFilter('type eq "WORK" and primary eq true');
    expect(matches({ type: 'work', primary: true }, f)).toBe(true);
    expect(matches({ Type: 'Work', PRIMARY: true }, f)).toBe(true);
    expect(matches({ type: 'home', primary: true }, f)).toBe(false);
    expect(matches('work', f)).toBe(false);
  });
});

describe('SCIM PATCH paths', () => {
  it.each([
    ['active', { uri: null, attr: 'active', filter: null, sub: null }],
    ['name.givenName', { uri: null, attr: 'name', filter: null, sub: 'givenName' }],
    [
      `${ENTERPRISE}:manager.value`,
      { uri: ENTERPRISE, attr: 'manager', filter: null, sub: 'value' },
    ],
  ])('reads %s', (text, want) => {
    expect(parsePatchPath(text)).toEqual(want);
  });

  it('reads a value path with a sub-attribute, even with ] inside its string', () => {
    const p = parsePatchPath('emails[value eq "a]b@x.io"].type');
    expect(p).toMatchObject({ attr: 'emails', sub: 'type' });
    expect(p.filter).toEqual([
      { path: { uri: null, attr: 'value', sub: null }, op: 'eq', value: 'a]b@x.io' },
    ]);
  });
});
