import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { compileTrust } from '../../src/policy/compile.js';

// The mistakes a new operator makes first in tokenbroker.yaml, each answered
// with what to do rather than a generic message (or, worse, accepted).

function problems(text: string): string[] {
  try {
    compileTrust(parseConfig(text, { source: 'tokenbroker.yaml' }), 'tokenbroker.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path || '(file)'}: ${i.message}`);
    throw e;
  }
  return [];
}

const valid = (lines: string) => `issuer: https://broker.example.com
tokens:
  audience: https://hub.example.com
${lines}`;

const provider = (issuer: string, extra = '') => `ci:
  providers:
    - name: github
      issuer: ${issuer}
      audiences: [https://broker.example.com]${extra}
`;

describe('config check on first mistakes', () => {
  it('shows where a YAML syntax error is, with the line and a caret, not a dangling colon', () => {
    const [said] = problems(
      'issuer: https://broker.example.com\ntokens:\n  audience: [a\n  b: c\n',
    );
    expect(said).toMatch(/^\(file\): not valid YAML or JSON: .* at line 4, column 3\n/);
    expect(said).toContain('    |   audience: [a');
    expect(said).toMatch(/ {4}\| {3}\^/);
    expect(said).not.toMatch(/:$/);
  });

  it('suggests the key a misspelt one was meant to be, among those allowed where it is', () => {
    expect(
      problems(
        valid(
          provider('https://token.actions.githubusercontent.com').replace(
            'audiences:',
            'audience:',
          ),
        ),
      ),
    ).toEqual(['ci.providers[0]: unknown key audience: did you mean audiences?']);
    expect(problems(valid('sso:\n  sesion_ttl: 8h\n'))).toContain(
      'sso: unknown key sesion_ttl: did you mean session_ttl?',
    );
  });

  it('lists the keys allowed when an unknown one is no near miss', () => {
    const [said] = problems(valid('tokens2: {}\n'));
    expect(said).toMatch(/^\(file\): unknown key tokens2: did you mean tokens\?$/);
    const [far] = problems(valid('completely_else: 1\n'));
    expect(far).toMatch(/^\(file\): unknown key completely_else: expected one of issuer, .*tokens/);
  });

  it('asks to quote an id that YAML read as a number', () => {
    const text = valid(`${provider('https://token.actions.githubusercontent.com')}  policies:
    - name: p
      provider: github
      match: { repository_id: 123456789, repository: acme/models }
      grant: ['read:models/acme/*']
`);
    expect(problems(text).join('\n')).toContain(
      "expected a string, got the number 123456789: quote it ('123456789')",
    );
  });

  it.each(['https://token.actions.githubusercontent.com/', 'https://gitlab.com/'])(
    'refuses %s: the tokens say iss without the slash',
    (issuer) => {
      expect(problems(valid(provider(issuer)))).toEqual([
        'ci.providers[0].issuer: remove the trailing slash: the tokens say iss without it, and the issuer must match it exactly',
      ]);
    },
  );

  it('refuses a plain-http broker issuer on a public host, and accepts it on loopback', () => {
    expect(
      problems(
        'issuer: http://broker.example.com\ntokens: { audience: https://hub.example.com }\n',
      ),
    ).toEqual([
      'issuer: expected an https URL: tokens and session cookies sent to a plain-http broker cross the network in the clear (http is accepted on loopback only, e.g. http://127.0.0.1:8787)',
    ]);
    expect(
      problems('issuer: http://127.0.0.1:8787\ntokens: { audience: https://hub.example.com }\n'),
    ).toEqual([]);
    expect(problems('issuer: nope\ntokens: { audience: https://hub.example.com }\n')).toEqual([
      'issuer: expected an http(s) URL without query or fragment, e.g. https://broker.example.com',
    ]);
  });
});
