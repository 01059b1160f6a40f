import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { form, startBroker, type TestBroker } from '../helpers/broker.js';
import { authorize, inProcess } from '../helpers/device.js';
import { startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';
import { deviceRow } from '../helpers/rows.js';

// POST /device_authorization (RFC 8628 section 3.1) and the RFC 8414 metadata that names it.

let t: SamlTestBroker | undefined;
let plain: TestBroker | undefined;
afterEach(async () => {
  await t?.cleanup();
  await plain?.cleanup();
  t = plain = undefined;
});

const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

describe('POST /device_authorization', () => {
  it('answers a device code, a user code and where to enter it, never cached', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request('/device_authorization', form({ scope: 'read:**' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      device_code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      user_code: expect.stringMatching(USER_CODE),
      verification_uri: 'https://broker.test/device',
      verification_uri_complete: `https://broker.test/device?user_code=${body.user_code}`,
      expires_in: 600,
      interval: 5,
    });
  });

  it('accepts JSON like the token endpoint, and draws a different code each time', async () => {
    t = await startSamlBroker();
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await t.broker.app.request('/device_authorization', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ scope: 'read:**', ttl: 600 }),
      });
      expect(res.status).toBe(200);
      codes.add(((await res.json()) as { user_code: string }).user_code);
    }
    expect(codes.size).toBe(20);
  });

  it('stores the device code only as its SHA-256', async () => {
    t = await startSamlBroker();
    const { device_code } = await authorize(inProcess(t));
    const rows = await t.broker.sql('SELECT * FROM device_codes');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.device_code_sha256).toBe(
      createHash('sha256').update(device_code).digest('hex'),
    );
    expect(JSON.stringify(rows)).not.toContain(device_code);
  });

  it.each([
    ['a malformed scope', { scope: 'read models' }, 'invalid_scope', /"read" is not a scope/],
    ['a ttl that is no lifetime', { ttl: 'forever' }, 'invalid_request', /ttl "forever"/],
    [
      'a client_id with a space',
      { client_id: 'my cli' },
      'invalid_request',
      /client_id "my cli" is not a client id/,
    ],
    [
      'a client_id of 129 characters',
      { client_id: 'c'.repeat(129) },
      'invalid_request',
      /send 1 to 128 printable ASCII/,
    ],
    ['a resource', { resource: 'acme/bert' }, 'invalid_request', /resource is not supported/],
  ])(
    'refuses %s with a 400 that says what to send, and stores nothing',
    async (_n, params, error, description) => {
      t = await startSamlBroker();
      const res = await t.broker.app.request('/device_authorization', form(params));
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, string>;
      expect(body.error).toBe(error);
      expect(body.error_description).toMatch(description);
      expect(await t.broker.sql('SELECT count(*) AS n FROM device_codes')).toEqual([{ n: 0 }]);
    },
  );

  it('is limited per client address, as /token is', async () => {
    t = await startSamlBroker({ config: { rate_limit: { per_client: '2/1m' } } });
    const ask = () => t!.broker.app.request('/device_authorization', form({ scope: 'read:**' }));
    expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(200);
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    t.clock.advance(60);
    expect((await ask()).status).toBe(200);
  });

  it('holds at most 100 live requests per address and 10,000 on the broker, whatever rate_limit says', async () => {
    // rate_limit is off in the test config: this bound is the one that keeps the rows bounded.
    t = await startSamlBroker({
      clientAddress: (c) => c.req.header('x-test-address') ?? '192.0.2.10',
    });
    const now = Math.floor(t.clock.now() / 1000);
    const ask = (address: string) =>
      t!.broker.app.request('/device_authorization', {
        ...form({ scope: 'read:**' }),
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'x-test-address': address,
        },
      });
    const live = (i: number, address: string) =>
      deviceRow(`sha-${address}-${i}`, {
        userCode: `B${String(i).padStart(7, '0')}`.replace(/\d/g, (d) => 'CDFGHJKLMN'[Number(d)]!),
        clientAddress: address,
        createdAt: now,
        expiresAt: now + 600,
      });
    await Promise.all(
      Array.from({ length: 99 }, (_, i) =>
        t!.broker.store.createDeviceCode(live(i, '198.51.100.1')),
      ),
    );
    expect((await ask('198.51.100.1')).status).toBe(200); // the 100th
    const full = await ask('198.51.100.1');
    expect(full.status).toBe(429);
    expect((await full.json()).error_description).toMatch(/already has 100 device logins waiting/);
    expect((await ask('198.51.100.2')).status).toBe(200); // another address is not held up
    // Expired requests no longer count.
    t.clock.advance(600);
    expect((await ask('198.51.100.1')).status).toBe(200);

    const later = Math.floor(t.clock.now() / 1000);
    // 10,000 requests from as many addresses, in one statement (one by one takes 30 s on D1).
    // Their user codes hold digits, which no drawn code does.
    await t.broker.sql(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
       INSERT INTO device_codes (device_code_sha256, user_code, scopes, client_address,
         created_at, expires_at, poll_interval, status)
       SELECT 'sha-seed-' || i, printf('0%07d', i), '["read:**"]', printf('2001:db8::%x', i),
         ?, ?, 5, 'pending' FROM n`,
      later,
      later + 600,
    );
    const busy = await ask('198.51.100.3');
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('60');
    expect((await busy.json()).error_description).toMatch(/holds 10000 device logins waiting/);
  }, 30_000);

  it('is not offered without browser login, since nobody could approve a code', async () => {
    plain = await startBroker();
    const res = await plain.app.request('/device_authorization', form({ scope: 'read:**' }));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error_description: string }).error_description).toMatch(
      /no browser login to approve device codes with/,
    );
    const meta = (await (
      await plain.app.request('/.well-known/oauth-authorization-server')
    ).json()) as Record<string, unknown>;
    expect(meta.device_authorization_endpoint).toBeUndefined();
    const page = await plain.app.request('/device', { headers: { Accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('browser login is not configured on this broker');
  });
});

describe('the RFC 8414 metadata', () => {
  it('names the device authorization endpoint and the device code grant', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request('/.well-known/oauth-authorization-server');
    expect(await res.json()).toMatchObject({
      issuer: 'https://broker.test',
      token_endpoint: 'https://broker.test/token',
      device_authorization_endpoint: 'https://broker.test/device_authorization',
      grant_types_supported: [
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
    });
  });

  it('names the device grant among those a wrong grant_type may use instead', async () => {
    t = await startSamlBroker();
    const res = await t.broker.app.request('/token', form({ grant_type: 'password' }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'unsupported_grant_type',
      error_description:
        'grant_type "password" is not supported: use urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693), or urn:ietf:params:oauth:grant-type:device_code (RFC 8628) with a device_code from /device_authorization',
    });
  });
});
