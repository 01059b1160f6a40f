import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { EXCHANGE } from '../helpers/broker.js';
import { useBroker } from './broker.js';
import { TARGETS } from './targets.js';

// RFC 8693 exchange of a CI job's OIDC token, signed by a real issuer whose
// JWKS the broker fetches over HTTP (SPEC section 4, POST /token). The cases
// that look into the audit log stay in test/oidc/exchange.test.ts.

const REPLAYED = {
  error: 'invalid_grant',
  error_description:
    'this CI token was already exchanged: each CI token is accepted once, so request a fresh one in the job',
};

describe.each(TARGETS)('CI token exchange on $name', (target) => {
  const broker = useBroker(target);

  it('exchanges a GitHub Actions token for the union of every matching policy', async () => {
    const b = broker();
    const res = await b.exchange(await b.github.github());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body).toMatchObject({
      issued_token_type: EXCHANGE.access,
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'write:models/acme/* read:datasets/acme/** read:models/acme/**',
    });
    const payload = await b.verify(body.access_token);
    expect(payload.sub).toBe('ci:github:repo:acme/models:environment:production');
    expect(payload.client_id).toBe('github');
    expect(payload.ci).toEqual({
      provider: 'github',
      repository: 'acme/models',
      ref: 'refs/heads/main',
      workflow: 'Release',
      run_id: '10988497055',
    });
    expect((await b.introspect(body.access_token)).active).toBe(true);
  });

  it('exchanges a GitLab CI token', async () => {
    const b = broker();
    const res = await b.exchange(await b.gitlab.gitlab());
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.scope).toBe('write:models/acme/gl-*');
    const claims = await b.verify(body.access_token);
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
    const b = broker();
    const res = await b.exchange(await b.github.github(), { subject_token_type: EXCHANGE.jwt });
    expect(res.status).toBe(200);
  });

  it('narrows to the requested scopes and caps the lifetime by the granting policy', async () => {
    const b = broker();
    const body = await (
      await b.exchange(await b.github.github(), { scope: 'write:models/acme/bert', ttl: '2h' })
    ).json();
    expect(body.scope).toBe('write:models/acme/bert');
    expect(body.expires_in).toBe(1800); // models-release max_ttl 30m
    const claims = decodeJwt(body.access_token);
    expect(claims.exp! - claims.iat!).toBe(1800);
    const other = await (
      await b.exchange(await b.github.github(), { scope: 'read:models/acme/x/y', ttl: '2h' })
    ).json();
    expect(other.expires_in).toBe(3600); // acme-readers has no max_ttl: the global 1h
  });

  it('refuses a scope no matching policy grants', async () => {
    const b = broker();
    const res = await b.exchange(await b.github.github(), { scope: 'write:datasets/acme/x' });
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
    const b = broker();
    const body = await (await b.exchange(await b.github.github(), { resource })).json();
    expect(body.scope).toBe(scope);
  });

  it('refuses a resource nothing grants with invalid_target', async () => {
    const b = broker();
    const res = await b.exchange(await b.github.github(), { resource: 'spaces/acme/demo' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('invalid_target');
  });

  it("accepts, unchanged, the JSON request Hugging Face's huggingface_hub sends to /oauth/token", async () => {
    const b = broker();
    const token = await b.github.github();
    // huggingface_hub/_oidc.py exchange_oidc_token: httpx json= body with exactly these keys.
    const res = await b.send('/oauth/token', {
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
    const b = broker();
    const res = await b.exchange(
      await b.github.github({ repository: 'acme/x', ref: 'refs/heads/feat' }),
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

  it('accepts a CI token once, refusing the sequential replay', async () => {
    const b = broker();
    const token = await b.github.github();
    expect((await b.exchange(token)).status).toBe(200);
    const res = await b.exchange(token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(REPLAYED);
  });

  it('gives exactly one token to two concurrent exchanges of one CI token, and refuses the other as a replay', async () => {
    const b = broker();
    const sub = 'repo:acme/models:environment:concurrent-pair';
    const token = await b.github.github({ sub });
    const answers = await Promise.all(
      [0, 1].map(async () => {
        const res = await b.exchange(token);
        return { status: res.status, body: await res.json() };
      }),
    );
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400).map((a) => a.body)).toEqual([REPLAYED]);
    expect((await b.introspect(ok[0]!.body.access_token)).active).toBe(true);
    const landed = await b.target.query(
      'SELECT jti FROM issued_tokens WHERE subject = ?',
      `ci:github:${sub}`,
    );
    expect(landed).toEqual([{ jti: decodeJwt(ok[0]!.body.access_token).jti }]);
  });

  it.each([
    ['an unknown issuer', async () => await broker().github.github({ iss: 'https://evil.test' })],
    ['another audience', async () => await broker().github.github({ aud: 'https://other.test' })],
    ['an expired token', async () => await broker().github.github({ exp: 1_700_000_000 })],
    ['not a JWT', async () => 'not-a-jwt'],
  ])('refuses %s with invalid_grant, never a 5xx', async (_name, token) => {
    const res = await broker().exchange(await token());
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('invalid_grant');
  });
});
