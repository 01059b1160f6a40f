import type { AppOptions } from '../../src/app.js';
import { ManualClock } from '../../src/shared/clock.js';
import { form, startBroker, testConfig, type TestBroker } from './broker.js';
import { TestIdp, readAuthnRequest, type ResponseOptions } from './saml-idp.js';

export const ISSUER = 'https://broker.test';
export const ACS_URL = `${ISSUER}/saml/acs`;
export const SP_ENTITY_ID = `${ISSUER}/saml/metadata`;

export const ROLES = [
  {
    name: 'ml-engineers',
    when: { groups: 'ml-engineers' },
    grant: ['read:**', 'write:models/acme/*'],
    max_ttl: '30m',
  },
];

export interface SamlTestBroker {
  broker: TestBroker;
  idp: TestIdp;
  clock: ManualClock;
  /**
   * This test browser's login cookie (`name=value`), as GET /saml/login left
   * it; postAcs sends it, as the browser that started the login would.
   */
  loginCookie: string | undefined;
  /** GET /saml/login; returns the AuthnRequest id and the RelayState sent to the IdP. */
  startLogin(returnTo?: string): Promise<{ id: string; relayState: string | null }>;
  /** A signed response answering `inResponseTo`, with our ACS and audience filled in. */
  response(o?: Partial<ResponseOptions>): string;
  /** POST /saml/acs with `cookies` (default: the login cookie; `null`: none). */
  postAcs(samlResponse: string, relayState?: string, cookies?: string | null): Promise<Response>;
  /** A full login; returns the session cookie (name=value). */
  login(o?: Partial<ResponseOptions>): Promise<string>;
  sessionCount(): Promise<number>;
  cleanup(): Promise<void>;
}

export async function startSamlBroker(
  options: {
    saml?: Record<string, unknown>;
    sso?: Record<string, unknown>;
    idp?: TestIdp;
    clock?: ManualClock;
    /** Other top-level config keys, e.g. rate_limit. */
    config?: Record<string, unknown>;
    /** The caller's address as a runtime would report it (see startBroker). */
    clientAddress?: AppOptions['clientAddress'];
  } = {},
): Promise<SamlTestBroker> {
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
  const idp = options.idp ?? new TestIdp(() => clock.now());
  const config = await testConfig({
    sso: {
      saml: {
        idp: { entity_id: idp.entityId, entry_point: idp.ssoUrl, certs: [idp.keys.certPem] },
        clock_skew: '2m',
        ...options.saml,
      },
      roles: ROLES,
      ...options.sso,
    },
    ...options.config,
  });
  const broker = await startBroker({ config, clock, clientAddress: options.clientAddress });
  const t: SamlTestBroker = {
    broker,
    idp,
    clock,
    loginCookie: undefined,
    async startLogin(returnTo = '/') {
      const res = await t.broker.app.request(
        `/saml/login?return_to=${encodeURIComponent(returnTo)}`,
        t.loginCookie ? { headers: { Cookie: t.loginCookie } } : {},
      );
      if (res.status !== 302) throw new Error(`login answered ${res.status}: ${await res.text()}`);
      t.loginCookie = loginCookie(res) ?? t.loginCookie;
      const req = readAuthnRequest(res.headers.get('location')!);
      return { id: req.id, relayState: req.relayState };
    },
    response(o = {}) {
      return idp.response({ acsUrl: ACS_URL, audience: SP_ENTITY_ID, ...o });
    },
    postAcs(samlResponse, relayState, cookies = t.loginCookie) {
      const init = form({
        SAMLResponse: samlResponse,
        ...(relayState ? { RelayState: relayState } : {}),
      });
      return Promise.resolve(
        t.broker.app.request('/saml/acs', {
          ...init,
          headers: {
            ...(init.headers as Record<string, string>),
            ...(cookies ? { Cookie: cookies } : {}),
          },
        }),
      );
    },
    async login(o = {}) {
      const { id, relayState } = await t.startLogin();
      const res = await t.postAcs(t.response({ inResponseTo: id, ...o }), relayState ?? undefined);
      if (res.status !== 303) throw new Error(`ACS answered ${res.status}: ${await res.text()}`);
      return sessionCookie(res)!;
    },
    async sessionCount() {
      const [row] = await t.broker.sql('SELECT count(*) AS n FROM sessions');
      return row!.n as number;
    },
    cleanup: () => t.broker.cleanup(),
  };
  return t;
}

/** The `name=value` of the session cookie a response sets, if any. */
export function sessionCookie(res: Response): string | undefined {
  const header = res.headers.getSetCookie().find((c) => /^(__Host-)?tb_session=[^;]/.test(c));
  return header?.split(';')[0];
}

/** The `name=value` of the login-binding cookie a response sets, if any. */
export function loginCookie(res: Response): string | undefined {
  const header = res.headers.getSetCookie().find((c) => /^(__Host-)?tb_saml_login=/.test(c));
  return header?.split(';')[0];
}

/** GET with a cookie, as a browser would. */
export function get(t: SamlTestBroker, path: string, cookie: string): Promise<Response> {
  return Promise.resolve(
    t.broker.app.request(path, { headers: { Cookie: cookie, Accept: 'text/html' } }),
  );
}

export function post(
  t: SamlTestBroker,
  path: string,
  cookie: string,
  params: Record<string, string>,
): Promise<Response> {
  const init = form(params);
  return Promise.resolve(
    t.broker.app.request(path, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), Cookie: cookie },
    }),
  );
}

/** The CSRF field of the person's page. */
export async function csrfOf(t: SamlTestBroker, cookie: string): Promise<string> {
  const html = await (await get(t, '/', cookie)).text();
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}
