import { decodeJwt, createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXCHANGE, introspect } from '../helpers/broker.js';
import { startCi, type CiSetup } from '../helpers/ci.js';

let ci: CiSetup;
beforeEach(async () => {
  ci = await startCi();
});
afterEach(() => ci.close());

describe('CI token exchange', () => {
  it('exchanges a GitHub Actions token for the union of every matching policy', async () => {
    const res = await ci.exchange(await ci.github.github());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body).toMatchObject({
      issued_token_type: EXCHANGE.access,
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'write:models/acme/* read:datasets/acme/** read:models/acme/**',
    });
    const jwks = createLocalJWKSet(await (await ci.broker.app.request('/jwks')).json());
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
      issuer: 'https://broker.test',
      audience: 'https://hub.test',
      currentDate: new Date(ci.broker.clock.now()),
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload.sub).toBe('ci:github:repo:acme/models:environment:production');
    expect(payload.client_id).toBe('github');
    expect(payload.ci).toEqual({
      provider: 'github',
      repository: 'acme/models',
      ref: 'refs/heads/main',
      workflow: 'Release',
      run_id: '10988497055',
    });
    expect((await introspect(ci.broker, body.access_token)).active).toBe(true);
  });

  it('exchanges a GitLab CI token', async () => {
    const res = await ci.exchange(await ci.gitlab.gitlab());
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.scope).toBe('write:models/acme/gl-*');
    const claims = decodeJwt(body.access_token);
    expect(claims.sub).toBe('ci:gitlab:project_path:acme/models:ref_type:branch:ref:main');
    expect(claims.ci).toEqual({
      provider: 'gitlab',
      repository: 'acme/models',
      ref: 'refs/heads/main',
      workflow: 'gitlab.com/acme/models//.gitlab-ci.yml@refs/heads/main',
      run_id: '1391152406',
    });
  });

  it('accepts the jwt token type as well as id_token', async () => {
    const res = await ci.exchange(await ci.github.github(), { subject_token_type: EXCHANGE.jwt });
    expect(res.status).toBe(200);
  });

  it('narrows to the requested scopes and caps the lifetime by the granting policy', async () => {
    const body = await (
      await ci.exchange(await ci.github.github(), { scope: 'write:models/acme/bert', ttl: '2h' })
    ).json();
    expect(body.scope).toBe('write:models/acme/bert');
    expect(body.expires_in).toBe(1800); // models-release max_ttl 30m
    const other = await (
      await ci.exchange(await ci.github.github(), { scope: 'read:models/acme/x/y', ttl: '2h' })
    ).json();
    expect(other.expires_in).toBe(3600); // acme-readers has no max_ttl: the global 1h
  });

  it('refuses a scope no matching policy grants', async () => {
    const res = await ci.exchange(await ci.github.github(), { scope: 'write:datasets/acme/x' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_scope',
      error_description:
        'scope write:datasets/acme/x is not granted: ask for a narrower scope, or change the trust policy or role that grants it',
    });
  });

  it.each([
    ['acme/bert', 'write:models/acme/bert read:models/acme/bert'],
    ['models/acme/bert', 'write:models/acme/bert read:models/acme/bert'],
    ['datasets/acme/corpus', 'read:datasets/acme/corpus'],
  ])('narrows to resource %s', async (resource, scope) => {
    const body = await (await ci.exchange(await ci.github.github(), { resource })).json();
    expect(body.scope).toBe(scope);
  });

  it('refuses a resource nothing grants with invalid_target', async () => {
    const res = await ci.exchange(await ci.github.github(), { resource: 'spaces/acme/demo' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('invalid_target');
  });

  it("accepts, unchanged, the JSON request Hugging Face's huggingface_hub sends to /oauth/token", async () => {
    const token = await ci.github.github();
    // huggingface_hub/_oidc.py exchange_oidc_token: httpx json= body with exactly these keys.
    const res = await ci.broker.app.request('/oauth/token', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: '*/*',
        'User-Agent': 'huggingface_hub/1.29.0',
      },
      body: JSON.stringify({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        subject_token: token,
        resource: 'acme/bert',
      }),
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(typeof body.access_token).toBe('string');
    expect(typeof body.expires_in).toBe('number');
    expect(body.scope).toBe('write:models/acme/bert read:models/acme/bert');
  });

  it('names the token’s own provider, repository, ref, workflow and environment when no policy matches, and no policy content', async () => {
    const res = await ci.exchange(
      await ci.github.github({ repository: 'acme/x', ref: 'refs/heads/feat' }),
    );
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toEqual({
      error: 'invalid_grant',
      error_description:
        'no trust policy matched: provider github, repository acme/x, ref refs/heads/feat, workflow acme/models/.github/workflows/release.yml@refs/heads/main, environment production, event push',
    });
    expect(body.error_description).not.toContain('models-release');
    expect(body.error_description).not.toContain('860122172');
  });

  it('keeps each policy’s condition outcomes in the denial’s audit row, and not the token', async () => {
    const token = await ci.github.github({ repository: 'acme/x', ref: 'refs/heads/feat' });
    await ci.exchange(token);
    const [row] = await ci.broker.store.queryAudit({ outcome: 'denied' });
    expect(row).toMatchObject({
      event: 'token.denied',
      subject: 'ci:github:repo:acme/models:environment:production',
      source: 'ci',
    });
    const policies = (
      row!.detail as {
        policies: {
          policy: string;
          conditions: { claim: string; matched: boolean; actual: string }[];
        }[];
      }
    ).policies;
    expect(policies.map((p) => p.policy)).toEqual(['models-release', 'acme-readers']);
    expect(policies[0]!.conditions.find((c) => c.claim === 'repository')).toEqual({
      claim: 'repository',
      expected: '"acme/models"',
      actual: '"acme/x"',
      matched: false,
    });
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it('audits an issue with the policy names and the token hash', async () => {
    const body = await (
      await ci.exchange(await ci.github.github(), { scope: 'write:models/acme/bert' })
    ).json();
    const [row] = await ci.broker.store.queryAudit({ event: 'token.issued' });
    expect(row).toMatchObject({
      outcome: 'success',
      policy: 'models-release',
      source: 'ci',
      scopes: ['write:models/acme/bert'],
    });
    expect(row!.jti).toBe(decodeJwt(body.access_token).jti);
  });
});
