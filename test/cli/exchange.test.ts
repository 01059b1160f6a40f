import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../helpers/broker.js';
import { closedPortUrl, instantRetry, runCli } from '../helpers/cli.js';
import { startStack, type Stack } from '../action/stack.js';

// `tokenbroker exchange` against a real broker on loopback, as a GitLab job
// would run it with an `id_tokens` variable.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const exchange = (args: string[], env: Record<string, string | undefined>) =>
  runCli(['exchange', ...args], { cwd: process.cwd(), env });

describe('tokenbroker exchange', () => {
  it('prints the token, and only the token, on stdout', async () => {
    const oidc = await stack.ciToken({ aud: stack.brokerUrl });
    const r = await exchange(
      [
        '--broker',
        `${stack.brokerUrl}/`,
        '--oidc-token-env',
        'CI_ID_TOKEN',
        '--scope',
        'write:models/acme/bert',
        '--ttl',
        '5m',
      ],
      { CI_ID_TOKEN: oidc },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(r.stderr).toMatch(
      /^tokenbroker: token for write:models\/acme\/bert, valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/,
    );
    const claims = await introspect(stack.broker, r.stdout.trim());
    expect(claims).toMatchObject({ active: true, scope: 'write:models/acme/bert' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
  });

  it('exits 1 with the refusal and the claims when no policy matches', async () => {
    const oidc = await stack.ciToken({ aud: stack.brokerUrl, repository: 'acme/other' });
    const r = await exchange(['--broker', stack.brokerUrl, '--oidc-token-env', 'T'], { T: oidc });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^tokenbroker: the broker refused the token exchange \(HTTP 400 invalid_grant\): no trust policy matched/,
    );
    expect(r.stderr).toContain('The CI token presented: ');
    expect(r.stderr).toContain('repository=acme/other');
  });

  // BROKER stands for the stack's broker, so "before any request" is counted where the
  // command would send one. Plain http to another machine cannot be counted there: it is
  // refused by the URL check alone.
  it.each([
    ['no --broker', ['--oidc-token-env', 'T'], "required option '--broker <url>' not specified"],
    ['no --oidc-token-env', ['--broker', 'BROKER'], "required option '--oidc-token-env <var>'"],
    [
      'an unset token variable',
      ['--broker', 'BROKER', '--oidc-token-env', 'NOPE'],
      "tokenbroker: environment variable NOPE is empty or not set: in GitLab CI, declare it under the job's id_tokens with aud: BROKER",
    ],
    [
      'a bad ttl',
      ['--broker', 'BROKER', '--oidc-token-env', 'T', '--ttl', 'soon'],
      'tokenbroker: --ttl "soon" is not a lifetime: give seconds (900) or a duration (90s, 15m, 1h)',
    ],
    [
      'plain http to another machine',
      ['--broker', 'http://b.test', '--oidc-token-env', 'T'],
      'tokenbroker: --broker "http://b.test" uses plain http: use https',
    ],
    [
      'a malformed scope',
      ['--broker', 'BROKER', '--oidc-token-env', 'T', '--scope', 'everything'],
      'tokenbroker: --scope: "everything" is not a scope',
    ],
  ])('exits 2 on %s, before any request', async (_name, args, message) => {
    const broker = (text: string) => text.replaceAll('BROKER', stack.brokerUrl);
    const sent = () => Object.values(stack.hits).reduce((a, b) => a + b, 0);
    const before = sent();
    const r = await exchange(args.map(broker), { T: 'x.y.z' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(broker(message));
    expect(sent()).toBe(before);
  });

  it('exits 3 when nothing answers at the broker URL, after its retries', async () => {
    const url = await closedPortUrl();
    const slept: number[] = [];
    const r = await runCli(['exchange', '--broker', url, '--oidc-token-env', 'T'], {
      cwd: process.cwd(),
      env: { T: 'x.y.z' },
      host: { retry: instantRetry(slept) },
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    const what = `GET ${url}/.well-known/oauth-authorization-server failed: ECONNREFUSED`;
    expect(r.stderr.split('\n')).toEqual([
      `tokenbroker: ${what}; try 2 of 4 in 0.5s`,
      `tokenbroker: ${what}; try 3 of 4 in 1.0s`,
      `tokenbroker: ${what}; try 4 of 4 in 2.0s`,
      `tokenbroker: ${what} (tried 4 times): check that the broker at ${url} is up`,
      '',
    ]);
    expect(slept).toEqual([500, 1000, 2000]);
  });

  it('exits 3 when the broker keeps answering 503, and 1 when it refuses', async () => {
    stack.faults['/token'] = [503, 503, 503, 503];
    const oidc = await stack.ciToken({ aud: stack.brokerUrl });
    const host = { retry: instantRetry() };
    const args = ['--broker', stack.brokerUrl, '--oidc-token-env', 'T'];
    const down = await runCli(['exchange', ...args], { cwd: '.', env: { T: oidc }, host });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('answered HTTP 503 (tried 4 times): check that the broker is up');
    stack.faults['/token'] = [429];
    const limited = await runCli(['exchange', ...args], { cwd: '.', env: { T: oidc }, host });
    expect(limited.code).toBe(1);
  });
});
