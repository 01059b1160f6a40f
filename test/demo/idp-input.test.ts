import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from '../../src/demo/start.js';
import { tempDir } from '../helpers/broker.js';

// The demo's IdP and CI issuer answer whoever reaches the port: what they are
// sent is bounded and refused with a 4xx that says what to do, never a 5xx,
// and the IdP posts only to the demo broker's own ACS.

let demo: RunningDemo;
let url: string;
let cleanup: () => void;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  demo = await startDemo({ host: '127.0.0.1', port: 0, cwd: t.dir });
  url = demo.server.url;
});

afterAll(async () => {
  await demo?.server.close();
  cleanup?.();
});

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const encode = (xml: string | Buffer) => deflateRawSync(Buffer.from(xml)).toString('base64');
const authnRequest = (id: string, acs = 'https://evil.example/acs') =>
  `<samlp:AuthnRequest xmlns:samlp="${SAMLP}" ID="${id}" Version="2.0" AssertionConsumerServiceURL="${acs}"/>`;

function sso(samlRequest: string | undefined, relayState?: string): Promise<Response> {
  const q = new URLSearchParams();
  if (samlRequest !== undefined) q.set('SAMLRequest', samlRequest);
  if (relayState !== undefined) q.set('RelayState', relayState);
  return fetch(`${url}/demo/saml/sso?${q}`);
}

function postForm(path: string, params: Record<string, string>): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(params) });
}

describe('the demo IdP refuses what is not a login request of its broker', () => {
  it.each([
    ['no SAMLRequest', undefined, 'no SAMLRequest'],
    ['not base64 deflate', 'not-a-request', 'not a deflated'],
    ['over 8 KiB encoded', 'A'.repeat(10 * 1024), 'too large'],
    ['a deflate bomb (5 MB of zeros)', encode(Buffer.alloc(5_000_000)), 'more than 64 KiB'],
    ['not XML', encode('hello'), 'not well-formed'],
    [
      'another SAML message',
      encode(`<samlp:LogoutRequest xmlns:samlp="${SAMLP}" ID="_x"/>`),
      'not an AuthnRequest',
    ],
    [
      'an AuthnRequest outside the SAML namespace',
      encode('<AuthnRequest ID="_x"/>'),
      'not an AuthnRequest',
    ],
    ['an ID that is markup', encode(authnRequest('_a&quot;&gt;&lt;script&gt;')), 'no usable ID'],
    ['an ID of 200 characters', encode(authnRequest(`_${'a'.repeat(200)}`)), 'no usable ID'],
    [
      'an entity expansion',
      encode(
        `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>${authnRequest('&b;')}`,
      ),
      'SAMLRequest',
    ],
  ])('%s: a 400 page saying so', async (_, samlRequest, message) => {
    const res = await sso(samlRequest);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain(message);
    expect(html).toContain('<span class="label">demo</span>');
    expect(html).not.toContain('<script>');
  });

  it('refuses a RelayState longer than the broker ever sends', async () => {
    const res = await sso(encode(authnRequest('_abc')), 'r'.repeat(2000));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('RelayState is too long');
  });

  it.each([
    ['no person chosen', { request: '_abc', relay: '' }, 'choose one of the demo people'],
    ['a person who is not in the demo', { user: 'mallory', request: '_abc' }, 'choose one'],
    [
      'a request id that is markup',
      { user: 'ada', request: '"><b>' },
      'start again at /saml/login',
    ],
    [
      'a RelayState too long',
      { user: 'ada', request: '_abc', relay: 'r'.repeat(2000) },
      'too long',
    ],
  ])('refuses a login form with %s', async (_, form, message) => {
    const res = await postForm('/demo/saml/login', form);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(message);
  });

  it('posts the signed response to its broker ACS, whatever ACS the request names', async () => {
    const form = await sso(encode(authnRequest('_req1')), 'relay-1');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="request" value="_req1"');
    const res = await postForm('/demo/saml/login', {
      user: 'ada',
      request: '_req1',
      relay: 'relay-1',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`action="${url}/saml/acs"`);
    expect(html).not.toContain('evil.example');
    const response = /name="SAMLResponse" value="([^"]+)"/.exec(html)![1]!;
    const xml = Buffer.from(response, 'base64').toString('utf8');
    expect(xml).toContain('InResponseTo="_req1"');
    expect(xml).toContain('<SignatureValue>');
  });
});

describe('the demo home page', () => {
  it('says what the demo is, who can log in and the curl pair, with "demo" in its header', async () => {
    const res = await fetch(`${url}/demo/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<span class="label">demo</span>');
    expect(html).toContain('cy@example.com');
    expect(html).toContain(`CI_TOKEN=$(curl -s -X POST ${url}/demo/ci-token)`);
  });
});

describe('the demo CI issuer', () => {
  const mint = (body: string) => fetch(`${url}/demo/ci-token`, { method: 'POST', body });

  it.each([
    ['not JSON', '{ref:', 'the body is not JSON'],
    ['a JSON list', '["ref"]', 'one JSON object'],
    ['a nested value', '{"ref": {"a": 1}}', 'expected a string'],
    ['a claim over 1 KiB', JSON.stringify({ ref: 'r'.repeat(2000) }), 'expected a string'],
    [
      'more than 32 claims',
      JSON.stringify(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`c${i}`, 'v']))),
      'at most 32 claims',
    ],
  ])('refuses claims that are %s with a 400 saying how to send them', async (_, body, message) => {
    const res = await mint(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toContain(
      message,
    );
  });

  it('publishes its issuer and keys as GitHub does', async () => {
    const discovery = (await (
      await fetch(`${url}/demo/.well-known/openid-configuration`)
    ).json()) as { issuer: string; jwks_uri: string };
    expect(discovery).toMatchObject({ issuer: `${url}/demo`, jwks_uri: `${url}/demo/jwks` });
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: { kty: string }[] };
    expect(jwks.keys.map((k) => k.kty)).toEqual(['RSA']);
  });

  it('leaves out a claim set to null, which the broker then refuses', async () => {
    const token = (await (await mint('{"jti": null}')).text()).trim();
    const res = await postForm('/token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      subject_token: token,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toContain(
      'has no jti',
    );
  });
});
