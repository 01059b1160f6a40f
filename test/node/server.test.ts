import { createRemoteJWKSet, jwtVerify } from 'jose';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/node/server.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { EXCHANGE, tempDir, testConfig } from '../helpers/broker.js';
import { CI_POLICIES } from '../helpers/ci.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';

let server: RunningServer | undefined;
let issuer: TestIssuer | undefined;
let cleanup: () => void = () => {};
afterEach(async () => {
  await server?.close();
  await issuer?.close();
  cleanup();
});

describe('the Node entry point', () => {
  it('serves a CI exchange over a real socket, signed by the node:crypto signer, audited with the client address', async () => {
    issuer = await startTestIssuer();
    const t = tempDir();
    cleanup = t.cleanup;
    const config = await testConfig({
      database: join(t.dir, 'tb.db'),
      ci: {
        providers: [
          {
            name: 'github',
            issuer: issuer.url,
            kind: 'github',
            audiences: ['https://broker.test'],
          },
        ],
        policies: CI_POLICIES.filter((p) => p.provider === 'github'),
      },
    });
    server = await startServer(config, { host: '127.0.0.1', port: 0, logger: silentLogger });
    const res = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: EXCHANGE.grant_type,
        subject_token_type: EXCHANGE.idToken,
        subject_token: await issuer.github(),
        scope: 'write:models/acme/bert',
      }),
    });
    expect(res.status).toBe(200);
    const { access_token } = await res.json();
    const { payload } = await jwtVerify(
      access_token,
      createRemoteJWKSet(new URL(`${server.url}/jwks`)),
      {
        issuer: 'https://broker.test',
        audience: 'https://hub.test',
        typ: 'at+jwt',
      },
    );
    expect(payload.scope).toBe('write:models/acme/bert');

    await server.close();
    server = undefined;
    const store = new SqliteStore(join(t.dir, 'tb.db'));
    try {
      const [row] = await store.queryAudit({ event: 'token.issued' });
      expect(row).toMatchObject({
        jti: payload.jti,
        clientAddress: '127.0.0.1',
        policy: 'models-release',
      });
      expect(row!.userAgent).toBeTruthy();
    } finally {
      await store.close();
    }
  });
});
