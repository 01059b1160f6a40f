import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeDeps } from '../../action/src/node-deps.js';
import { runMain } from '../../action/src/run-main.js';
import type { Runner, StepDeps } from '../../action/src/runner.js';
import { claimsHint, describeClaims, peekClaims } from '../../src/client/claims.js';
import { githubClaims, gitlabClaims } from '../helpers/oidc-issuer.js';
import { startStack, type Stack } from './stack.js';
import { listen } from '../helpers/listen.js';

describe('the claims shown on a refusal', () => {
  it('shows what a GitHub policy matches on, and a missing environment', () => {
    const claims = githubClaims();
    delete claims.environment;
    expect(describeClaims(claims)).toBe(
      'aud=https://broker.test, sub=repo:acme/models:environment:production, repository=acme/models, ' +
        'repository_id=860122172, repository_owner_id=1167635, ref=refs/heads/main, ref_type=branch, ' +
        'ref_protected=true, workflow=Release, ' +
        'job_workflow_ref=acme/models/.github/workflows/release.yml@refs/heads/main, ' +
        'environment=(none), event_name=push',
    );
  });

  it('shows what a GitLab policy matches on', () => {
    expect(describeClaims(gitlabClaims())).toBe(
      'aud=https://broker.test, sub=project_path:acme/models:ref_type:branch:ref:main, ' +
        'project_path=acme/models, project_id=56004559, ref=main, ref_type=branch, ref_protected=true, ' +
        'pipeline_source=push',
    );
  });

  it('shows a claim that holds a newline or a terminal escape escaped, so it cannot start a line', () => {
    const shown = describeClaims({
      ref: 'refs/heads/x\n::add-mask::\u001b[2J',
      workflow: 'w\u202e',
    });
    expect(shown).toBe('ref=refs/heads/x\\n::add-mask::\\x1b[2J, workflow=w\\u{202e}');
  });

  it('reads a JWT payload with non-ASCII text, and nothing from a non-JWT', () => {
    const payload = Buffer.from(JSON.stringify({ workflow: 'Déploiement ✓' })).toString(
      'base64url',
    );
    expect(peekClaims(`e30.${payload}.sig`)).toEqual({ workflow: 'Déploiement ✓' });
    expect(peekClaims('not a jwt')).toBeUndefined();
    expect(claimsHint('not.a.jwt')).toBe('');
  });
});

// runMain in-process, with a core that records every call in order.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.jobClaims = {};
});

function recordingCore(inputs: Record<string, string>) {
  const calls: [string, ...string[]][] = [];
  const rec =
    (name: string) =>
    (...args: string[]) =>
      void calls.push([name, ...args]);
  const core: Runner = {
    getInput: (name) => inputs[name] ?? '',
    getState: () => '',
    setSecret: rec('setSecret'),
    setOutput: rec('setOutput'),
    exportVariable: rec('exportVariable'),
    saveState: rec('saveState'),
    info: rec('info'),
    warning: rec('warning'),
    setFailed: rec('setFailed'),
  };
  return { core, calls };
}

function deps(core: Runner): StepDeps {
  return {
    core,
    env: stack.idTokenEnv,
    fetch: globalThis.fetch,
    retry: {
      attempts: 3,
      baseDelayMs: 1000,
      maxDelayMs: 5000,
      sleep: async () => {},
      random: () => 0,
    },
    now: () => Date.UTC(2026, 0, 1),
  };
}

describe('the real runner wiring', () => {
  it('uses the process environment and bounded retries', () => {
    const d = nodeDeps();
    expect(d.env).toBe(process.env);
    expect(d.retry).toMatchObject({ attempts: 4, baseDelayMs: 1000, maxDelayMs: 10_000 });
  });
});

describe('the main step', () => {
  it('masks the token before it sets any output, variable or state', async () => {
    const { core, calls } = recordingCore({
      'broker-url': stack.brokerUrl,
      'export-env': 'HF_TOKEN',
      revoke: 'true',
    });
    await runMain(deps(core));
    const token = calls.find((c) => c[0] === 'setOutput' && c[1] === 'token')?.[2];
    expect(token).toBeDefined();
    const names = calls.map((c) => c[0]);
    const firstUse = calls.findIndex(
      (c) => c[0] !== 'setSecret' && c.slice(1).some((a) => a.includes(token!)),
    );
    expect(calls.findIndex((c) => c[0] === 'setSecret' && c[1] === token)).toBeLessThan(firstUse);
    expect(names.filter((n) => n !== 'info')).toEqual([
      'setSecret', // the OIDC token
      'setSecret',
      'setOutput',
      'setOutput',
      'setOutput',
      'exportVariable',
      'saveState',
      'saveState',
    ]);
    expect(calls).toContainEqual(['setOutput', 'expires-at', '2026-01-01T00:15:00Z']);
  });

  it("shows a hostile broker's refusal and scope with terminal and bidi controls made visible", async () => {
    let refuse = true;
    const evil = listen((req) => {
      const base = new URL(req.url).origin;
      if (req.method === 'GET') return Response.json({ token_endpoint: `${base}/token` });
      if (refuse) {
        return Response.json(
          { error: 'invalid_grant', error_description: 'no\u001b[2J\u009b2J\u202egnp.exe' },
          { status: 400 },
        );
      }
      return Response.json({
        access_token: 'a.b.c',
        token_type: 'Bearer',
        expires_in: 60,
        scope: 'read:x\u001b[H\u202e',
      });
    });
    const server = await evil;
    try {
      for (const r of [true, false]) {
        refuse = r;
        const { core, calls } = recordingCore({ 'broker-url': server.url });
        await runMain(deps(core));
        const logged = calls
          .filter((c) => c[0] === 'setFailed' || c[0] === 'info')
          .map((c) => c[1]!)
          .join('\n');
        // eslint-disable-next-line no-control-regex
        expect(logged).not.toMatch(/[\u001b\u009b\u202e]/);
        expect(logged).toContain(
          r ? 'no\\x1b[2J\\x9b2J\\u{202e}gnp.exe' : 'read:x\\x1b[H\\u{202e}',
        );
      }
    } finally {
      await server.close();
    }
  });

  it('fails once, naming the refusal and the claims that did not match', async () => {
    stack.jobClaims = { repository_id: '1' };
    const { core, calls } = recordingCore({ 'broker-url': stack.brokerUrl });
    await runMain(deps(core));
    const failed = calls.filter((c) => c[0] === 'setFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]![1]).toMatch(
      /^tokenbroker failed: the broker refused the token exchange \(HTTP 400 invalid_grant\): .+\nThe CI token presented: .*repository=acme\/models, repository_id=1, .*environment=production, event_name=push\.\nCompare these claims with the broker's trust policies/,
    );
    expect(calls.map((c) => c[0])).not.toContain('setOutput');
  });
});
