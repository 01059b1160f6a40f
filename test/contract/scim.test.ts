import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/shared/crypto.js';
import { form } from '../helpers/broker.js';
import { ACS_URL, SP_ENTITY_ID, loginCookie } from '../helpers/saml-broker.js';
import { readAuthnRequest } from '../helpers/saml-idp.js';
import { useBroker, type ContractBroker } from './broker.js';
import { TARGETS } from './targets.js';

// SCIM deprovisioning over HTTP, on Node with SQLite and on the Worker with
// D1: a directory creates a person and deactivates them, and their live
// session and token end in that one write. The directory shapes, refusals
// and login pages in detail are in test/scim/.

const SECRET = 'contract-scim-secret-0123456789';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const scim = (b: ContractBroker, method: string, path: string, body?: unknown) =>
  b.send(`/scim/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** A login through the test IdP, returning the ACS's answer as it is. */
async function acsAnswer(b: ContractBroker): Promise<Response> {
  const started = await b.send('/saml/login?return_to=%2F');
  const request = readAuthnRequest(started.headers.get('location')!);
  const init = form({
    SAMLResponse: b.idp.response({
      acsUrl: ACS_URL,
      audience: SP_ENTITY_ID,
      inResponseTo: request.id,
    }),
    RelayState: '/',
  });
  return b.send('/saml/acs', {
    ...init,
    headers: { ...(init.headers as Record<string, string>), Cookie: loginCookie(started)! },
  });
}

describe.each(TARGETS)('SCIM deprovisioning on $name', (target) => {
  const broker = useBroker(target, async () => ({
    scim: { token_sha256: await sha256Hex(SECRET) },
  }));

  it("ends a person's session and token in the write that deactivates them, and refuses their next login", async () => {
    const b = broker();
    const created = await scim(b, 'POST', '/Users', {
      schemas: [USER_SCHEMA],
      userName: 'alice@example.com',
      emails: [{ value: 'alice@example.com', primary: true, type: 'work' }],
      active: true,
    });
    expect(created.status, await created.clone().text()).toBe(201);
    expect(created.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    const { id } = (await created.json()) as { id: string };

    const cookie = await b.login();
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await b.page('/', cookie)).text())![1]!;
    const minted = await (
      await b.submit('/tokens', cookie, { csrf, scope: 'read:**', ttl: '10m' })
    ).text();
    const token = /id="new-token" readonly="" value="([^"]+)"/.exec(minted)![1]!;
    expect((await b.introspect(token)).active).toBe(true);

    const off = await scim(b, 'PATCH', `/Users/${id}`, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(off.status, await off.clone().text()).toBe(200);
    expect(((await off.json()) as { active: boolean }).active).toBe(false);

    expect((await b.introspect(token)).active).toBe(false);
    const page = await b.page('/', cookie);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/saml/login?return_to=%2F');
    const refused = await acsAnswer(b);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('your access was removed by your organisation');

    const rows = await b.target.query(
      "SELECT detail FROM audit_events WHERE event = 'scim.user.deactivated'",
    );
    expect(JSON.parse(rows[0]!.detail as string)).toMatchObject({
      sessions_ended: 1,
      revoked: [expect.any(String)],
    });
  });

  it('refuses a wrong secret with a SCIM 401', async () => {
    const res = await broker().send('/scim/v2/Users', {
      headers: { Authorization: 'Bearer wrong' },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      status: '401',
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    });
  });
});
