import { createRemoteJWKSet, jwtVerify } from 'jose';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/log.js';
import { startServer, type RunningServer } from '../../src/node/server.js';
import { SqliteStore } from '../../src/node/sqlite/store.js';
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

  it('refuses oversized bodies over a real socket, announced by Content-Length or sent chunked', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const config = await testConfig({ database: join(t.dir, 'tb.db') });
    server = await startServer(config, { host: '127.0.0.1', port: 0, logger: silentLogger });
    const { port } = new URL(server.url);

    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(request));
        let answer = '';
        socket.on('data', (d) => (answer += d.toString()));
        socket.on('error', reject);
        socket.on('close', () => resolve(answer));
      });
    const head = (extra: string) =>
      `POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n${extra}\r\n`;

    // Announced too large: refused from the header, before any byte of the body.
    const announced = await raw(head(`Content-Length: ${1024 * 1024}\r\n`));
    expect(announced).toMatch(/^HTTP\/1\.1 413 /);
    expect(announced).toContain('request body is larger than 64 KiB: send a smaller body');

    // Chunked, no length: counted while read.
    const chunk = 'a'.repeat(16 * 1024);
    const body = Array.from({ length: 8 }, () => `${(16 * 1024).toString(16)}\r\n${chunk}\r\n`);
    const chunked = await raw(`${head('Transfer-Encoding: chunked\r\n')}${body.join('')}0\r\n\r\n`);
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);

    // A chunked body within the limit is read normally.
    const small = 'grant_type=password';
    const ok = await raw(
      `${head('Transfer-Encoding: chunked\r\n')}${small.length.toString(16)}\r\n${small}\r\n0\r\n\r\n`,
    );
    expect(ok).toMatch(/^HTTP\/1\.1 400 /);
    expect(ok).toContain('unsupported_grant_type');
  });
});
