import { afterEach, describe, expect, it } from 'vitest';
import { startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';

let t: SamlTestBroker;
afterEach(() => t?.cleanup());

const text = async (res: Response) => (await res.text()).replace(/&#39;/g, "'");
const lastFailure = async () =>
  (await t.broker.store.queryAudit({ event: 'login.failed' })).at(-1)!;

describe('clock drift between the IdP and the broker', () => {
  it("says by how much and which way when the IdP's clock is ahead, and audits the figures", async () => {
    t = await startSamlBroker();
    const { id } = await t.startLogin();
    const idpNow = t.clock.now() + 161_000; // the IdP is 2m41s ahead
    const res = await t.postAcs(t.response({ inResponseTo: id, issueInstant: idpNow }));
    expect(res.status).toBe(400);
    expect(await text(res)).toContain(
      "this assertion became valid 2m41s after this server's clock: the IdP's clock is ahead (ask the IdP admin to sync it), or raise sso.saml.clock_skew (now 2m)",
    );
    expect(await t.sessionCount()).toBe(0);
    expect((await lastFailure()).detail).toMatchObject({
      driftSeconds: 161,
      direction: 'idp_ahead',
      clockSkewSeconds: 120,
    });
  });

  it('accepts an IdP clock ahead by less than clock_skew', async () => {
    t = await startSamlBroker();
    const { id } = await t.startLogin();
    const res = await t.postAcs(
      t.response({ inResponseTo: id, issueInstant: t.clock.now() + 100_000 }),
    );
    expect(res.status).toBe(303);
  });

  it('says how long ago an expired assertion expired', async () => {
    t = await startSamlBroker();
    const { id } = await t.startLogin();
    const issued = t.clock.now() - 10 * 60_000;
    const res = await t.postAcs(
      t.response({ inResponseTo: id, issueInstant: issued, notOnOrAfter: issued + 5 * 60_000 }),
    );
    expect(res.status).toBe(400);
    expect(await text(res)).toContain(
      "this assertion expired 5m before this server's clock: start the login again from /saml/login; if it keeps happening the IdP's clock is behind, or raise sso.saml.clock_skew (now 2m)",
    );
    expect((await lastFailure()).detail).toMatchObject({
      driftSeconds: -300,
      check: 'Conditions/@NotOnOrAfter',
    });
  });

  it('refuses an assertion older than max_assertion_age even when NotOnOrAfter is later', async () => {
    t = await startSamlBroker({ saml: { max_assertion_age: '5m' } });
    const { id } = await t.startLogin();
    const issued = t.clock.now() - 10 * 60_000;
    const res = await t.postAcs(
      t.response({
        inResponseTo: id,
        issueInstant: issued,
        notOnOrAfter: t.clock.now() + 60 * 60_000,
      }),
    );
    expect(res.status).toBe(400);
    expect(await text(res)).toContain(
      'this assertion was issued 10m ago, more than sso.saml.max_assertion_age (5m)',
    );
    expect((await lastFailure()).detail).toMatchObject({ ageSeconds: 600, maxAgeSeconds: 300 });
  });

  it('refuses a response to a login request older than 30 minutes', async () => {
    t = await startSamlBroker();
    const { id } = await t.startLogin();
    t.clock.advance(31 * 60);
    const res = await t.postAcs(t.response({ inResponseTo: id }));
    expect(res.status).toBe(400);
    expect(await text(res)).toContain('took too long');
  });
});
