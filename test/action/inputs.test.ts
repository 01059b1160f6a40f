import { describe, expect, it } from 'vitest';
import { readInputs } from '../../action/src/inputs.js';
import { ClientError } from '../../src/client/errors.js';

// As the runner passes them: action.yml's defaults, overridden by the workflow.
const DEFAULTS: Record<string, string> = {
  scope: '',
  ttl: '',
  audience: '',
  'export-env': 'HF_TOKEN',
  revoke: 'true',
};
const read = (inputs: Record<string, string>) =>
  readInputs((name) => ({ ...DEFAULTS, ...inputs })[name] ?? '');

function problem(inputs: Record<string, string>): string {
  try {
    read(inputs);
  } catch (e) {
    expect(e).toBeInstanceOf(ClientError);
    expect((e as ClientError).code).toBe('usage');
    return (e as Error).message;
  }
  throw new Error('expected the inputs to be refused');
}

describe('readInputs', () => {
  it('applies the defaults: audience is the broker URL, HF_TOKEN is exported, revoke is on', () => {
    expect(read({ 'broker-url': 'https://broker.example.com/' })).toEqual({
      brokerUrl: 'https://broker.example.com',
      scope: undefined,
      ttl: undefined,
      audience: 'https://broker.example.com',
      exportEnv: 'HF_TOKEN',
      revoke: true,
    });
  });

  it('normalizes scopes written over several lines, and durations to seconds', () => {
    const inputs = read({
      'broker-url': 'https://broker.example.com/tb',
      scope: 'write:models/acme/bert\n  read:datasets/acme/corpus\nwrite:models/acme/bert\n',
      ttl: '15m',
      audience: 'api://tokenbroker',
      'export-env': '',
      revoke: 'FALSE',
    });
    expect(inputs).toEqual({
      brokerUrl: 'https://broker.example.com/tb',
      scope: 'write:models/acme/bert read:datasets/acme/corpus',
      ttl: '900',
      audience: 'api://tokenbroker',
      exportEnv: undefined,
      revoke: false,
    });
  });

  it('accepts plain http for a broker on the same machine only', () => {
    expect(read({ 'broker-url': 'http://127.0.0.1:8787' }).brokerUrl).toBe('http://127.0.0.1:8787');
    expect(read({ 'broker-url': 'http://localhost:8787/' }).brokerUrl).toBe(
      'http://localhost:8787',
    );
  });

  it.each(['http://localhost:8787', 'http://127.0.0.2:8787', 'http://[::1]:8787'])(
    'accepts plain http on loopback as the config does (one rule, 127.0.0.0/8 included): %s',
    (url) => {
      expect(read({ 'broker-url': url }).brokerUrl).toBe(url);
    },
  );

  it.each([
    [
      'a missing broker-url',
      { 'broker-url': '  ' },
      "broker-url is required: set it to the broker's base URL, e.g. https://broker.example.com",
    ],
    [
      'a broker-url that is no URL',
      { 'broker-url': 'broker.example.com' },
      'broker-url "broker.example.com" is not a URL: write it in full, e.g. https://broker.example.com',
    ],
    [
      'plain http to another machine',
      { 'broker-url': 'http://broker.example.com' },
      'broker-url "http://broker.example.com" uses plain http: use https (http is accepted for localhost only: localhost, 127.0.0.0/8, [::1])',
    ],
    [
      'plain http to a host named like a loopback address',
      { 'broker-url': 'http://127.0.0.1.evil.example' },
      'broker-url "http://127.0.0.1.evil.example" uses plain http: use https (http is accepted for localhost only: localhost, 127.0.0.0/8, [::1])',
    ],
    [
      'a broker-url with a query',
      { 'broker-url': 'https://broker.example.com/?x=1' },
      'broker-url "https://broker.example.com/?x=1" has a query, fragment or credentials: give the base URL only',
    ],
    [
      'a ttl that is not a lifetime',
      { ttl: '1 hour' },
      'ttl "1 hour" is not a lifetime: give seconds (900) or a duration (90s, 15m, 1h)',
    ],
    ['a zero ttl', { ttl: '0' }, 'ttl "0" is not a lifetime'],
    [
      'a malformed scope',
      { scope: 'models/acme/bert' },
      'scope: "models/acme/bert" is not a scope: write <permission>:<resource>, e.g. read:models/acme/bert',
    ],
    [
      'an export-env that is no variable name',
      { 'export-env': 'HF-TOKEN' },
      'export-env "HF-TOKEN" is not an environment variable name: use letters, digits and _, e.g. HF_TOKEN',
    ],
    [
      'an export-env the runner depends on',
      { 'export-env': 'NODE_OPTIONS' },
      'export-env NODE_OPTIONS is a variable the runner or its tools depend on: choose another name, e.g. HF_TOKEN',
    ],
    [
      'a GITHUB_ variable',
      { 'export-env': 'GITHUB_TOKEN' },
      'export-env GITHUB_TOKEN is a variable',
    ],
    [
      'a revoke that is no boolean',
      { revoke: 'yes' },
      'revoke "yes" is not a boolean: use true or false',
    ],
  ])('refuses %s, saying what to write instead', (_name, inputs, message) => {
    expect(problem({ 'broker-url': 'https://broker.example.com', ...inputs })).toContain(message);
  });
});
