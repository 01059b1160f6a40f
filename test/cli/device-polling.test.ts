import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  pollForToken,
  startDeviceAuthorization,
  type DeviceAuthorization,
  type PollWait,
} from '../../src/client/device.js';
import { ClientError } from '../../src/client/errors.js';
import type { HttpDeps } from '../../src/client/http.js';
import { instantRetry } from '../helpers/cli.js';
import {
  denied,
  expiredToken,
  pending,
  slowDown,
  startDeviceStandIn,
  tokenAnswer,
  type DeviceStandIn,
} from './device-stand-in.js';

// The client's side of RFC 8628 sections 3.4-3.5, against the STAND-IN
// responder of device-stand-in.ts: the answers are scripted so that each
// transition is seen, and the clock moves only when the client sleeps.

const T0 = Date.UTC(2026, 0, 1);
let now: number;
let standIn: DeviceStandIn;
let waits: PollWait[];
let http: HttpDeps;

beforeEach(async () => {
  now = T0;
  waits = [];
  standIn = await startDeviceStandIn(() => now);
  http = { fetch: globalThis.fetch, userAgent: 'test', retry: instantRetry() };
});
afterEach(() => standIn.close());

const start = () =>
  startDeviceAuthorization(
    {
      endpoint: `${standIn.url}/device_authorization`,
      clientId: 'tokenbroker-cli',
      scope: 'read:models/acme/*',
      ttl: '900',
      now: () => now,
    },
    http,
  );

const poll = (authorization: DeviceAuthorization) =>
  pollForToken(
    {
      tokenEndpoint: `${standIn.url}/token`,
      clientId: 'tokenbroker-cli',
      authorization,
      scope: undefined,
    },
    {
      http,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      onWait: (w) => waits.push(w),
    },
  );

/** Seconds after T0 at which the token endpoint was polled. */
const pollTimes = () =>
  standIn.seen.filter((s) => s.path === '/token').map((s) => (s.at - T0) / 1000);

async function refusal(promise: Promise<unknown>): Promise<ClientError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ClientError);
  return e as ClientError;
}

describe('device authorization request (RFC 8628 section 3.1)', () => {
  it('sends the client id, scope and ttl, and reads the code, the URIs and the pace', async () => {
    const auth = await start();
    expect(standIn.seen[0]).toMatchObject({
      path: '/device_authorization',
      form: { client_id: 'tokenbroker-cli', scope: 'read:models/acme/*', ttl: '900' },
    });
    expect(auth).toEqual({
      deviceCode: 'device-code-from-the-stand-in',
      userCode: 'WDJB-MJHT',
      verificationUri: `${standIn.url}/device`,
      verificationUriComplete: `${standIn.url}/device?user_code=WDJB-MJHT`,
      expiresAt: T0 + 600_000,
      interval: 5,
    });
  });

  it('polls every 5 s when the broker names no interval (section 3.2)', async () => {
    delete standIn.authorization.interval;
    expect((await start()).interval).toBe(5);
  });

  it.each([
    ['a javascript: URI', 'javascript:alert(1)'],
    ['plain http to another machine', 'http://broker.example.com/device'],
    ['a file URI', 'file:///etc/passwd'],
  ])('refuses a verification_uri that is %s: it would be opened in a browser', async (_n, uri) => {
    standIn.authorization.verification_uri = uri;
    const e = await refusal(start());
    expect(e.code).toBe('protocol');
    expect(e.message).toContain('verification_uri that is not an https URL');
  });

  it.each(['device_code', 'user_code', 'expires_in'])(
    'refuses an answer without %s',
    async (key) => {
      delete standIn.authorization[key];
      expect((await refusal(start())).code).toBe('protocol');
    },
  );
});

describe('polling the token endpoint (RFC 8628 sections 3.4 and 3.5)', () => {
  it('waits the interval while pending, adds 5 s for good on slow_down, and returns the token', async () => {
    const success = await tokenAnswer(
      {
        sub: 'user:alice@example.com',
        aud: 'https://hub.test',
        scope: 'read:models/acme/*',
        exp: 1,
      },
      900,
    );
    standIn.polls.push(pending, slowDown, pending, success);
    const token = await poll(await start());
    expect(token.accessToken).toBe(success.body!.access_token);
    expect(token.scope).toBe('read:models/acme/*');
    expect(token.expiresAt).toEqual(new Date(T0 + 30_000 + 900_000));
    expect(pollTimes()).toEqual([5, 10, 20, 30]);
    expect(waits.map((w) => [w.reason, w.waitMs / 1000])).toEqual([
      ['start', 5],
      ['authorization_pending', 5],
      ['slow_down', 10],
      ['authorization_pending', 10],
    ]);
    for (const s of standIn.seen.filter((s) => s.path === '/token')) {
      expect(s.form).toEqual({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: 'device-code-from-the-stand-in',
        client_id: 'tokenbroker-cli',
      });
    }
  });

  it('stops at access_denied, saying the login was denied', async () => {
    standIn.polls.push(pending, denied);
    const e = await refusal(poll(await start()));
    expect(e.code).toBe('refused');
    expect(e.details.oauthError).toBe('access_denied');
    expect(e.message).toBe(
      'the login was denied in the browser: run `tokenbroker login` again if that was a mistake',
    );
    expect(pollTimes()).toEqual([5, 10]);
  });

  it('stops at expired_token with the broker words and what to do', async () => {
    standIn.polls.push(expiredToken);
    const e = await refusal(poll(await start()));
    expect(e.code).toBe('refused');
    expect(e.message).toBe(
      'the code expired before the login was approved (the code expired 3s ago): run `tokenbroker login` again and approve it in the browser within the time shown',
    );
  });

  it('honours expires_in: no poll once the code has expired, whatever the broker keeps saying', async () => {
    standIn.authorization.expires_in = 22;
    const e = await refusal(poll(await start()));
    expect(e.code).toBe('refused');
    expect(e.message).toMatch(/^the code expired before the login was approved: run/);
    expect(pollTimes()).toEqual([5, 10, 15, 20]);
    // The last wait ends at the expiry, not an interval later.
    expect(now - T0).toBe(22_000);
  });

  it('doubles the interval while the broker does not answer (section 3.5), then carries on', async () => {
    const success = await tokenAnswer(
      { sub: 'user:alice@example.com', aud: 'https://hub.test', scope: 'read:x/y', exp: 1 },
      60,
    );
    standIn.polls.push({ status: 503 }, { status: 502 }, pending, success);
    await poll(await start());
    expect(pollTimes()).toEqual([5, 15, 35, 55]);
    expect(waits.map((w) => w.reason)).toEqual([
      'start',
      'unreachable',
      'unreachable',
      'authorization_pending',
    ]);
    expect(waits[1]!.problem).toMatch(/answered HTTP 503$/);
  });

  it('says the broker is unavailable when it stopped answering until the code expired', async () => {
    standIn.authorization.expires_in = 30;
    standIn.polls.push(...Array.from({ length: 10 }, () => ({ status: 503 })));
    const e = await refusal(poll(await start()));
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(
      /^the broker stopped answering while waiting for the approval \(POST http:\/\/127\.0\.0\.1:\d+\/token answered HTTP 503\) and the code has expired: check that the broker is up/,
    );
  });

  it('waits as long as a 429 says before the next poll', async () => {
    standIn.polls.push({ status: 429, headers: { 'retry-after': '17' } });
    standIn.polls.push(denied);
    await refusal(poll(await start()));
    expect(pollTimes()).toEqual([5, 22]);
  });

  it('refuses any other error with the broker words', async () => {
    standIn.polls.push({
      status: 400,
      body: {
        error: 'unsupported_grant_type',
        error_description: 'grant_type "x" is not supported',
      },
    });
    const e = await refusal(poll(await start()));
    expect(e.message).toBe(
      'the broker refused the login (HTTP 400 unsupported_grant_type): grant_type "x" is not supported',
    );
  });
});
