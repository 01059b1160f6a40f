import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const withRole = (role: Record<string, unknown>) =>
  stringify({
    issuer: 'https://broker.example.com',
    tokens: { audience: 'https://hub.example.com' },
    sso: { roles: [{ name: 'r', when: { groups: 'g' }, grant: ['read:**'], ...role }] },
  });

describe('sso.roles[].admin', () => {
  it('is false unless a role says admin: true', () => {
    expect(parseConfig(withRole({})).sso?.roles[0]?.admin).toBe(false);
    expect(parseConfig(withRole({ admin: true })).sso?.roles[0]?.admin).toBe(true);
  });

  it('refuses anything but true or false, naming the key', () => {
    try {
      parseConfig(withRole({ admin: 'yes' }));
      expect.unreachable('admin: "yes" was accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toMatch(/sso\.roles\.0\.admin|sso\.roles\[0\]\.admin/);
      expect((e as ConfigError).message).toContain('expected true or false');
    }
  });
});
