import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  EXCHANGE,
  HUB_SECRET,
  basic,
  form,
  hubSecretSha256,
  testConfigObject,
} from '../helpers/broker.js';
import { CI_POLICIES } from '../helpers/ci.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import {
  ACS_URL,
  ROLES,
  SP_ENTITY_ID,
  loginCookie,
  sessionCookie,
} from '../helpers/saml-broker.js';
import { TestIdp, readAuthnRequest } from '../helpers/saml-idp.js';
import type { RunningTarget, Target } from './targets.js';

/**
 * One broker for a contract test file, started on a target: two CI issuers
 * (GitHub- and GitLab-shaped) serving their JWKS over loopback HTTP, the test
 * SAML IdP, and the config the in-process tests use (test/helpers/ci.ts's
 * policies, saml-broker.ts's roles). Everything a test does goes over HTTP to
 * `url`; nothing reaches into the database or the clock, which on Workers a
 * test could not do anyway.
 */
export interface ContractBroker {
  target: RunningTarget;
  github: TestIssuer;
  gitlab: TestIssuer;
  idp: TestIdp;
  /** `fetch` on the broker's origin; redirects are returned, not followed. */
  send(path: string, init?: RequestInit): Promise<Response>;
  /** POST /token: RFC 8693 exchange of a CI token (id_token unless `extra` says). */
  exchange(ciToken: string, extra?: Record<string, string>): Promise<Response>;
  /** POST /token: RFC 8693 exchange of a broker token for a narrower one. */
  narrow(token: string, extra?: Record<string, string>): Promise<Response>;
  /** A broker token for a fresh GitHub Actions token: every scope its policies grant. */
  ciToken(extra?: Record<string, string>): Promise<string>;
  /** POST /introspect as the `hub` resource server; the 200 body. */
  introspect(token: string): Promise<Record<string, unknown>>;
  /** POST /revoke (RFC 7009). */
  revoke(token: string): Promise<Response>;
  /** The token verified against GET /jwks, as a workspace would. */
  verify(token: string): Promise<JWTPayload>;
  /** A full SAML login through the test IdP; returns the session cookie (`name=value`). */
  login(): Promise<string>;
  /** GET a page with a cookie, as a browser would. */
  page(path: string, cookie: string): Promise<Response>;
  /** POST a form with a cookie, as a browser would. */
  submit(path: string, cookie: string, params: Record<string, string>): Promise<Response>;
}

/**
 * workerd's start (wrangler's bundle, the local D1's migrations, the first
 * build of the app) takes a few seconds alone and several times that while
 * `npm test` keeps both cores busy: more than the config's 30 s hook timeout.
 */
const START_TIMEOUT_MS = 90_000;

/** Starts the broker on `target` before the file's tests and stops it after; read it inside a test. */
export function useBroker(
  target: Target,
  /** Config keys for this file's broker on top of the shared ones (e.g. scim). */
  extra: () => Promise<Record<string, unknown>> = async () => ({}),
): () => ContractBroker {
  let broker: ContractBroker | undefined;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    const github = await startTestIssuer();
    closers.push(github.close);
    const gitlab = await startTestIssuer();
    closers.push(gitlab.close);
    const idp = new TestIdp(() => Date.now());
    const running = await target.start({
      config: { ...contractConfig(github, gitlab, idp), ...(await extra()) },
      secrets: { HUB_SECRET_SHA256: await hubSecretSha256() },
    });
    closers.push(running.close);
    broker = contractBroker(running, github, gitlab, idp);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  }, START_TIMEOUT_MS);
  return () => {
    if (!broker) throw new Error(`the ${target.name} broker did not start: see beforeAll's error`);
    return broker;
  };
}

function contractConfig(github: TestIssuer, gitlab: TestIssuer, idp: TestIdp) {
  const provider = (name: string, issuer: TestIssuer) => ({
    name,
    issuer: issuer.url,
    kind: name,
    audiences: ['https://broker.test'],
  });
  return testConfigObject({
    ci: {
      providers: [provider('github', github), provider('gitlab', gitlab)],
      policies: CI_POLICIES,
    },
    sso: {
      saml: {
        idp: { entity_id: idp.entityId, entry_point: idp.ssoUrl, certs: [idp.keys.certPem] },
        clock_skew: '2m',
      },
      roles: ROLES,
    },
  });
}

function contractBroker(
  target: RunningTarget,
  github: TestIssuer,
  gitlab: TestIssuer,
  idp: TestIdp,
): ContractBroker {
  const send = (path: string, init: RequestInit = {}) =>
    fetch(`${target.url}${path}`, { redirect: 'manual', ...init });
  const tokenExchange = (subject_token: string, type: string, extra: Record<string, string>) =>
    send(
      '/token',
      form({ grant_type: EXCHANGE.grant_type, subject_token, subject_token_type: type, ...extra }),
    );
  const b: ContractBroker = {
    target,
    github,
    gitlab,
    idp,
    send,
    exchange: (token, extra = {}) => tokenExchange(token, EXCHANGE.idToken, extra),
    narrow: (token, extra = {}) => tokenExchange(token, EXCHANGE.access, extra),
    async ciToken(extra = {}) {
      const res = await b.exchange(await github.github(), extra);
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    async introspect(token) {
      const init = form({ token });
      const res = await send('/introspect', {
        ...init,
        headers: {
          ...(init.headers as Record<string, string>),
          Authorization: basic('hub', HUB_SECRET),
        },
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    },
    revoke: (token) => send('/revoke', form({ token })),
    async verify(token) {
      const jwks = (await (await send('/jwks')).json()) as JSONWebKeySet;
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: 'https://broker.test',
        audience: 'https://hub.test',
      });
      expect(protectedHeader.typ).toBe('at+jwt');
      return payload;
    },
    async login() {
      const started = await send('/saml/login?return_to=%2F');
      expect(started.status, await started.clone().text()).toBe(302);
      const binding = loginCookie(started)!;
      const request = readAuthnRequest(started.headers.get('location')!);
      const response = idp.response({
        acsUrl: ACS_URL,
        audience: SP_ENTITY_ID,
        inResponseTo: request.id,
      });
      const init = form({ SAMLResponse: response, RelayState: request.relayState ?? '/' });
      const acs = await send('/saml/acs', {
        ...init,
        headers: { ...(init.headers as Record<string, string>), Cookie: binding },
      });
      expect(acs.status, await acs.clone().text()).toBe(303);
      return sessionCookie(acs)!;
    },
    page: (path, cookie) => send(path, { headers: { Cookie: cookie, Accept: 'text/html' } }),
    submit(path, cookie, params) {
      const init = form(params);
      return send(path, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), Cookie: cookie },
      });
    },
  };
  return b;
}
