import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { introspect } from '../helpers/broker.js';
import { commands, runStep, type StepResult } from './sim-runner.js';
import { startStack, type Stack } from './stack.js';

// The bundled action/dist files, run by node as the runner runs them, against
// a real broker, a real OIDC issuer and the runtime's id-token protocol.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.jobClaims = {};
  stack.audiencesAsked.length = 0;
  stack.badBearers = 0;
  for (const k of Object.keys(stack.hits)) delete stack.hits[k];
  for (const k of Object.keys(stack.faults)) delete stack.faults[k];
});

const main = (inputs: Record<string, string> = {}, env: Record<string, string> = {}) =>
  runStep('main', {
    inputs: { 'broker-url': stack.brokerUrl, ...inputs },
    env: { ...stack.idTokenEnv, ...env },
  });

/** `::add-mask::<token>` is printed, and no line before it or after it has the token. */
function expectMaskedFirst(stdout: string, token: string) {
  const lines = stdout.split('\n');
  const mask = lines.indexOf(`::add-mask::${token}`);
  expect(mask).toBeGreaterThanOrEqual(0);
  lines.forEach((line, i) => {
    if (line.includes(token)) expect(i).toBe(mask);
  });
}

const failure = (r: StepResult) => commands(r.stdout, 'error').join('\n');
const networkCalls = () =>
  stack.audiencesAsked.length +
  stack.badBearers +
  Object.values(stack.hits).reduce((a, b) => a + b, 0);

describe('the action, end to end', () => {
  it('masks the token before printing anything that contains it', async () => {
    const r = await main();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const token = r.outputs.token!;
    expect(token).toMatch(/^eyJ/);
    expectMaskedFirst(r.stdout, token);
  });

  it('sets the outputs, exports HF_TOKEN, and saves the state, in the runner file format', async () => {
    const before = Date.now();
    const r = await main({ scope: 'write:models/acme/bert', ttl: '10m' });
    expect(r.code).toBe(0);
    const token = r.outputs.token!;
    expect(r.outputs.scope).toBe('write:models/acme/bert');
    const expiresAt = Date.parse(r.outputs['expires-at']!);
    expect(r.outputs['expires-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(expiresAt).toBeGreaterThanOrEqual(before - 1000 + 600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    // @actions/core writes every value as a heredoc with a random delimiter.
    expect(r.files.output).toMatch(/^token<<ghadelimiter_[0-9a-f-]{36}\n/);
    expect(r.exported).toEqual({ HF_TOKEN: token });
    expect(r.state).toEqual({ token, revocation_endpoint: `${stack.brokerUrl}/revoke` });
    expect(r.stdout).toContain('tokenbroker: token for write:models/acme/bert, valid until');
    const claims = await introspect(stack.broker, token);
    expect(claims).toMatchObject({ active: true, scope: 'write:models/acme/bert' });
    expect(stack.audiencesAsked).toEqual([stack.brokerUrl]);
  });

  it('masks the OIDC token too', async () => {
    const r = await main();
    expect(commands(r.stdout, 'add-mask')).toHaveLength(2);
  });

  it('asks the runtime for the audience input when one is given', async () => {
    const r = await main({ audience: 'https://elsewhere.test' });
    expect(stack.audiencesAsked).toEqual(['https://elsewhere.test']);
    expect(failure(r)).toContain('audience');
  });

  it('exports nothing when export-env is empty, and uses another name when given', async () => {
    expect((await main({ 'export-env': '' })).files.env).toBe('');
    const r = await main({ 'export-env': 'WORKSPACE_TOKEN' });
    expect(r.exported).toEqual({ WORKSPACE_TOKEN: r.outputs.token });
  });

  it('revokes the token in the post step', async () => {
    const m = await main();
    const token = m.outputs.token!;
    expect((await introspect(stack.broker, token)).active).toBe(true);
    const p = await runStep('post', {
      inputs: { 'broker-url': stack.brokerUrl },
      state: m.state,
    });
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('tokenbroker: token revoked');
    expectMaskedFirst(p.stdout, token);
    expect((await introspect(stack.broker, token)).active).toBe(false);
  });

  it('leaves the token alone with revoke: false', async () => {
    const m = await main({ revoke: 'false' });
    expect(m.state).toEqual({});
    const p = await runStep('post', { inputs: { 'broker-url': stack.brokerUrl, revoke: 'false' } });
    expect(p.code).toBe(0);
    expect((await introspect(stack.broker, m.outputs.token!)).active).toBe(true);
  });

  it('only warns when revocation fails', async () => {
    const m = await main();
    stack.faults['/revoke'] = [503, 503, 503, 503];
    const p = await runStep('post', { inputs: { 'broker-url': stack.brokerUrl }, state: m.state });
    expect(p.code).toBe(0);
    // Each wait is announced, as in the main step, so a slow post step says why.
    expect(p.stdout).toContain(
      `POST ${stack.brokerUrl}/revoke answered HTTP 503; try 2 of 4 in 0.0s`,
    );
    expect(commands(p.stdout, 'warning')).toEqual([
      `tokenbroker could not revoke the token, so it stays valid until it expires: POST ${stack.brokerUrl}/revoke answered HTTP 503 (tried 4 times): check that the broker is up`,
    ]);
    expect(commands(p.stdout, 'error')).toEqual([]);
  });

  it('prints the refusal and the claims of the job when no policy matches', async () => {
    stack.jobClaims = { repository: 'acme/other', ref: 'refs/heads/feat', environment: undefined };
    const r = await main();
    expect(r.code).toBe(1);
    const msg = failure(r);
    expect(msg).toMatch(
      /^tokenbroker failed: the broker refused the token exchange \(HTTP 400 invalid_grant\): no trust policy matched/,
    );
    expect(msg).toContain(
      'repository=acme/other, repository_id=860122172, repository_owner_id=1167635, ref=refs/heads/feat, ref_type=branch',
    );
    expect(msg).toContain('environment=(none), event_name=push');
    expect(r.files.output).toBe('');
    expect(r.files.env).toBe('');
  });

  it('retries a broker that answers 503 twice, then succeeds', async () => {
    stack.faults['/token'] = [503, 503];
    const r = await main();
    expect(r.code).toBe(0);
    expect(stack.hits['/token']).toBe(3);
    // A fresh OIDC token for each try, since the broker takes each one once.
    expect(stack.audiencesAsked).toHaveLength(3);
    expect(r.stdout).toContain(
      `POST ${stack.brokerUrl}/token answered HTTP 503; try 2 of 4 in 0.0s`,
    );
    expect((await introspect(stack.broker, r.outputs.token!)).active).toBe(true);
  });

  it('does not retry a 400', async () => {
    const r = await main({ scope: 'write:datasets/acme/corpus' });
    expect(r.code).toBe(1);
    expect(stack.hits['/token']).toBe(1);
    expect(failure(r)).toContain('(HTTP 400 invalid_scope)');
  });

  it('says to add the id-token permission when the runtime variables are missing', async () => {
    const r = await runStep('main', { inputs: { 'broker-url': stack.brokerUrl } });
    expect(r.code).toBe(1);
    expect(failure(r)).toBe(
      'tokenbroker failed: the job may not request an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set): add `permissions: id-token: write` to the job. Workflows triggered by a pull request from a fork never get one.',
    );
    expect(networkCalls()).toBe(0);
  });

  it('says what to check when the runtime refuses the id-token request', async () => {
    const r = await main({}, { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'stale' });
    expect(r.code).toBe(1);
    expect(failure(r)).toBe(
      'tokenbroker failed: the Actions runtime OIDC token request answered HTTP 401: check that the job has `permissions: id-token: write` and run it again',
    );
    expect(stack.badBearers).toBe(1);
  });

  it.each([
    [{ 'broker-url': '' }, 'broker-url is required'],
    [{ ttl: 'forever' }, 'ttl "forever" is not a lifetime'],
    [{ 'broker-url': 'http://broker.example.com' }, 'uses plain http'],
  ])('fails on bad inputs %j before any network call', async (inputs, expected) => {
    const r = await main(inputs);
    expect(r.code).toBe(1);
    expect(failure(r)).toContain(`tokenbroker failed: `);
    expect(failure(r)).toContain(expected);
    expect(networkCalls()).toBe(0);
  });
});
