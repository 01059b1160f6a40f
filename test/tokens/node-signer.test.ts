import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../src/node/signer.js';
import { Minter } from '../../src/tokens/mint.js';
import { introspect, startBroker, testConfig, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker;
afterEach(() => broker.cleanup());

describe('the Node entry’s node:crypto signer', () => {
  it.each(['ES256', 'EdDSA', 'RS256'] as const)(
    'mints %s tokens that jose verifies against /jwks, recorded with their SHA-256',
    async (algorithm) => {
      broker = await startBroker({
        config: await testConfig({ tokens: { audience: 'https://hub.test', algorithm } }),
      });
      const minter = new Minter({
        store: broker.store,
        keys: broker.keys,
        clock: broker.clock,
        issuer: 'https://broker.test',
        audience: 'https://hub.test',
        signer: nodeSigner(),
      });
      const minted = await minter.mint({
        subject: 'user:alice@example.com',
        scopes: ['read:models/acme/*'],
        ttlSeconds: 600,
        clientId: 'web',
        source: 'web',
        claims: { ci: { provider: 'github' } },
        audit: {},
      });
      const jwks = createLocalJWKSet(await (await broker.app.request('/jwks')).json());
      const { payload, protectedHeader } = await jwtVerify(minted.token, jwks, {
        issuer: 'https://broker.test',
        audience: 'https://hub.test',
        typ: 'at+jwt',
        currentDate: new Date(broker.clock.now()),
      });
      expect(protectedHeader.alg).toBe(algorithm);
      expect(payload).toMatchObject({
        sub: 'user:alice@example.com',
        scope: 'read:models/acme/*',
        client_id: 'web',
        jti: minted.jti,
        ci: { provider: 'github' },
      });
      expect(payload.exp! - payload.iat!).toBe(600);
      const row = await broker.store.getToken(minted.jti);
      expect(row?.tokenSha256).toBe(createHash('sha256').update(minted.token).digest('hex'));
      expect((await introspect(broker, minted.token)).active).toBe(true);
    },
  );
});
