import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { startServer } from '../../src/node/server.js';
import type { Logger } from '../../src/shared/log.js';
import { useBroker, type ContractBroker } from '../contract/broker.js';
import type { Target } from '../contract/targets.js';
import { DEVICE_GRANT, authorize } from '../helpers/device.js';
import { HUB_SECRET, form, tempDir } from '../helpers/broker.js';
import { ACS_URL, SP_ENTITY_ID, loginCookie, sessionCookie } from '../helpers/saml-broker.js';
import { readAuthnRequest } from '../helpers/saml-idp.js';

// Every line the broker logs while real flows run over a real socket: a CI
// exchange and its replay, a narrowing, introspection with the hub secret,
// revocation, a SAML login, a token minted on the person's page, the device
// flow, a metrics scrape with its bearer. Not one secret those flows carried
// may appear in any line, and the check is made on the fields as the callers
// passed them, before the logger masks anything JWT-shaped: redaction by
// construction, not by the safety net.

const METRICS_TOKEN = 'metrics-bearer-for-the-log-test';

/** Each call as the broker made it, fields serialised whole (an Error with its message and stack). */
const lines: string[] = [];
const capturing: Logger = Object.fromEntries(
  (['info', 'warn', 'error'] as const).map((level) => [
    level,
    (msg: string, fields?: Record<string, unknown>) =>
      lines.push(JSON.stringify({ level, msg, ...fields }, withErrors)),
  ]),
) as unknown as Logger;

function withErrors(_key: string, value: unknown) {
  return value instanceof Error
    ? { name: value.name, message: value.message, stack: value.stack, cause: value.cause }
    : value;
}

/** `tokenbroker serve` as the contract tests start it, logging to `capturing`. */
const loggedNode: Target = {
  name: 'node',
  async start({ config, secrets }) {
    const t = tempDir();
    const parsed = parseConfig(
      stringify({
        ...config,
        database: join(t.dir, 'tokenbroker.db'),
        metrics: { token_sha256: createHash('sha256').update(METRICS_TOKEN).digest('hex') },
      }),
      { env: secrets },
    );
    const server = await startServer(parsed, { host: '127.0.0.1', port: 0, logger: capturing });
    return {
      name: 'node',
      url: server.url,
      query: () => Promise.reject(new Error('not used here')),
      async close() {
        await server.close();
        t.cleanup();
      },
    };
  },
};

const csrfIn = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
const tokenIn = (html: string) => /id="new-token" readonly="" value="([^"]+)"/.exec(html)![1]!;
const valueOf = (cookie: string) => cookie.slice(cookie.indexOf('=') + 1);

/** A SAML login whose every secret is kept: the Response posted, the cookies given. */
async function login(b: ContractBroker) {
  const started = await b.send('/saml/login?return_to=%2F');
  const binding = loginCookie(started)!;
  const request = readAuthnRequest(started.headers.get('location')!);
  const samlResponse = b.idp.response({
    acsUrl: ACS_URL,
    audience: SP_ENTITY_ID,
    inResponseTo: request.id,
  });
  const init = form({ SAMLResponse: samlResponse, RelayState: '/' });
  const acs = await b.send('/saml/acs', {
    ...init,
    headers: { ...(init.headers as Record<string, string>), Cookie: binding },
  });
  expect(acs.status, await acs.clone().text()).toBe(303);
  return { samlResponse, binding, session: sessionCookie(acs)! };
}

describe('the logs of a broker serving real flows', () => {
  const broker = useBroker(loggedNode);

  it('hold no token, secret, SAML response, cookie value, CSRF field, device code or user code', async () => {
    const b = broker();
    const secrets: Record<string, string> = { hub_secret: HUB_SECRET, metrics: METRICS_TOKEN };

    const ciToken = await b.github.github();
    secrets.ci_token = ciToken;
    const exchanged = await b.exchange(ciToken);
    secrets.ci_access = ((await exchanged.json()) as { access_token: string }).access_token;
    expect((await b.exchange(ciToken)).status).toBe(400); // its replay, refused
    const narrowed = await b.narrow(secrets.ci_access, { scope: 'read:models/acme/bert' });
    secrets.narrowed = ((await narrowed.json()) as { access_token: string }).access_token;
    expect((await b.introspect(secrets.narrowed)).active).toBe(true);
    expect((await b.revoke(secrets.narrowed)).status).toBe(200);
    const me = await b.send('/me', { headers: { Authorization: `Bearer ${secrets.narrowed}` } });
    expect(me.status).toBe(401);

    const { samlResponse, binding, session } = await login(b);
    secrets.saml_response = samlResponse;
    const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
    for (const [i, m] of [...xml.matchAll(/<(?:ds:)?SignatureValue>([^<]+)</g)].entries())
      secrets[`saml_signature_${i}`] = m[1]!.replace(/\s+/g, '');
    secrets.login_cookie = valueOf(binding);
    secrets.session_cookie = valueOf(session);
    const csrf = csrfIn(await (await b.page('/', session)).text());
    secrets.csrf = csrf;
    const minted = await b.submit('/tokens', session, { csrf, scope: 'read:models/acme/bert' });
    expect(minted.status).toBe(200);
    secrets.page_token = tokenIn(await minted.text());

    const device = await authorize(b.send, { scope: 'read:models/acme/bert' });
    secrets.device_code = device.device_code;
    secrets.user_code = device.user_code;
    secrets.user_code_bare = device.user_code.replace('-', '');
    const approve = await b.page(`/device?user_code=${device.user_code}`, session);
    const approved = await b.submit('/device/approve', session, {
      csrf: csrfIn(await approve.text()),
      user_code: device.user_code,
    });
    expect(approved.status).toBe(303);
    const polled = await b.send(
      '/token',
      form({ grant_type: DEVICE_GRANT, device_code: device.device_code }),
    );
    expect(polled.status).toBe(200);
    secrets.device_token = ((await polled.json()) as { access_token: string }).access_token;
    const garbled = `${secrets.device_token.slice(0, -4)}AAAA`;
    const refused = await b.narrow(garbled, { scope: 'read:models/acme/bert' });
    expect(refused.status).toBe(400);
    secrets.garbled = garbled;

    const scrape = await b.send('/metrics', {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(scrape.status).toBe(200);

    // Every JWT also by its signature alone, in case a line carried a piece of one.
    for (const [name, value] of Object.entries(secrets)) {
      if (value.split('.').length === 3) secrets[`${name}_signature`] = value.split('.')[2]!;
    }
    const log = lines.join('\n');
    // The flows did run through the access log (and the startup line is there).
    const routes = new Set(lines.map((l) => JSON.parse(l).route as string | undefined));
    for (const route of [
      '/token',
      '/introspect',
      '/revoke',
      '/me',
      '/saml/acs',
      '/tokens',
      '/device_authorization',
      '/device/approve',
      '/metrics',
    ])
      expect(routes).toContain(route);
    expect(log).toContain('tokenbroker listening');
    const leaked = Object.entries(secrets)
      .filter(([, value]) => log.includes(value))
      .map(([name]) => name);
    expect(leaked).toEqual([]);
  });

  it('writes one line per request with its request id, method, path, route, status and time', async () => {
    const b = broker();
    lines.length = 0;
    const token = await b.ciToken();
    await b.send(`/tokens/${token.split('.')[2]!.slice(0, 8)}/revoke`, { method: 'POST' });
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requests).toEqual([
      {
        level: 'info',
        msg: 'request',
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        method: 'POST',
        path: '/token',
        route: '/token',
        status: 200,
        ms: expect.any(Number),
      },
      expect.objectContaining({ route: '/tokens/:jti/revoke', status: expect.any(Number) }),
    ]);
  });
});
