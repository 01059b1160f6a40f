import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

let t: SamlTestBroker;
beforeAll(async () => {
  t = await startSamlBroker();
});
afterAll(() => t.cleanup());

describe('return_to accepts only a local path', () => {
  it.each([
    ['//evil.com'],
    ['https://evil.com'],
    ['/\\evil.com'],
    ['\\\\evil.com'],
    ['/%5Cevil.com'.replace('%5C', '\\')],
    ['javascript:alert(1)'],
    ['evil.com/path'],
    ['/\tevil'],
  ])('refuses return_to=%s with a 400 page and no redirect', async (returnTo) => {
    const res = await t.broker.app.request(`/saml/login?return_to=${encodeURIComponent(returnTo)}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('return_to');
    expect(t.broker.store.db.prepare('SELECT count(*) AS n FROM replay_guard').get()).toEqual({
      n: 0,
    });
  });

  it.each([['/'], ['/tokens?x=1'], ['/a/b#c']])('accepts return_to=%s', async (returnTo) => {
    const res = await t.broker.app.request(`/saml/login?return_to=${encodeURIComponent(returnTo)}`);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).searchParams.get('RelayState')).toBe(returnTo);
  });

  it.each([['//evil.com'], ['https://evil.com'], ['/\\evil.com']])(
    'sends the browser to / when the RelayState that comes back is %s',
    async (relayState) => {
      const { id } = await t.startLogin();
      const res = await t.postAcs(t.response({ inResponseTo: id }), relayState);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/');
    },
  );
});
