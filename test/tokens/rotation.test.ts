import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { nowSeconds } from '../../src/shared/clock.js';
import { webCryptoBackend } from '../../src/jws/backend.js';
import { rotateKey } from '../../src/tokens/keys.js';
import { ownTokenCheck, verifyOwnToken } from '../../src/tokens/verify.js';
import { introspect, mintFor, startBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker;
afterEach(() => broker?.cleanup());

const jwks = async (b: TestBroker) =>
  (await (await b.app.request('/jwks')).json()) as JSONWebKeySet;

describe('key rotation', () => {
  it('keeps verifying a token signed before rotate, then prune drops the old key once it expired', async () => {
    broker = await startBroker();
    const old = await mintFor(broker, ['read:models/acme/x'], 600);
    const oldKid = decodeProtectedHeader(old.token).kid;

    await rotateKey(broker.store, 'ES256', nowSeconds(broker.clock));
    await broker.keys.reload();
    const fresh = await mintFor(broker, ['read:models/acme/x'], 600);
    expect(decodeProtectedHeader(fresh.token).kid).not.toBe(oldKid);

    const set = await jwks(broker);
    expect(set.keys.map((k) => k.kid).sort()).toEqual(
      [oldKid, decodeProtectedHeader(fresh.token).kid].sort(),
    );
    await jwtVerify(old.token, createLocalJWKSet(set), {
      currentDate: new Date(broker.clock.now()),
    });
    // The broker itself still takes it: the retired key verifies until it is pruned.
    expect((await introspect(broker, old.token)).active).toBe(true);

    // Nothing to prune while the old key's token lives.
    expect(await broker.store.pruneKeys(nowSeconds(broker.clock))).toEqual([]);

    broker.clock.advance(601);
    await broker.keys.reload();
    expect((await jwks(broker)).keys.map((k) => k.kid)).not.toContain(oldKid);
    expect(await broker.store.pruneKeys(nowSeconds(broker.clock))).toEqual([oldKid]);
    expect((await broker.store.listKeys()).map((k) => k.kid)).not.toContain(oldKid);
    // Its key gone, the old token is no longer ours: refused at the kid, before its expiry.
    await broker.keys.reload();
    const refusal = await verifyOwnToken(old.token, { ...broker, crypto: webCryptoBackend }).catch(
      (e: unknown) => e,
    );
    expect(ownTokenCheck(refusal)).toBe('kid');
  });

  it('reaches a running app without a restart', async () => {
    broker = await startBroker();
    const fresh = await rotateKey(broker.store, 'ES256', nowSeconds(broker.clock));
    expect((await jwks(broker)).keys.map((k) => k.kid)).not.toContain(fresh.kid);
    broker.clock.advance(31); // the key ring reloads at most every 30s
    expect((await jwks(broker)).keys.map((k) => k.kid)).toContain(fresh.kid);
    const minted = await mintFor(broker, ['read:models/acme/x']);
    expect(decodeProtectedHeader(minted.token).kid).toBe(fresh.kid);
  });

  it('rotates to the configured algorithm when it changes', async () => {
    broker = await startBroker();
    const { testConfig } = await import('../helpers/broker.js');
    const dir = broker.dir;
    await broker.close();
    broker = await startBroker({
      dir,
      config: await testConfig({ tokens: { audience: 'https://hub.test', algorithm: 'EdDSA' } }),
    });
    const minted = await mintFor(broker, ['read:models/acme/x']);
    expect(decodeProtectedHeader(minted.token).alg).toBe('EdDSA');
  });
});
