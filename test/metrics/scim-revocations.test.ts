import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../contract/broker.js';
import { METRICS_TOKEN, parseExposition, protectedNodeTarget, valueOf } from './exposition.js';

// A directory's deactivation revokes tokens without /revoke: the metric
// counts them under by="scim", so a dashboard sees deprovisioning at work.

const SECRET = 'metrics-scim-secret-0123456789';
const scimHeaders = {
  Authorization: `Bearer ${SECRET}`,
  'Content-Type': 'application/scim+json',
};

describe('metrics of SCIM deprovisioning', () => {
  const broker = useBroker(protectedNodeTarget, async () => ({
    scim: { token_sha256: createHash('sha256').update(SECRET).digest('hex') },
  }));

  const revokedByScim = async () => {
    const res = await broker().send('/metrics', {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    return valueOf(parseExposition(await res.text()), 'tokenbroker_tokens_revoked_total', {
      by: 'scim',
    });
  };

  it('counts the tokens a deactivation revoked, by="scim"', async () => {
    const b = broker();
    const created = await b.send('/scim/v2/Users', {
      method: 'POST',
      headers: scimHeaders,
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'alice@example.com',
        emails: [{ value: 'alice@example.com', primary: true }],
        active: true,
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const cookie = await b.login();
    const before = await revokedByScim();
    const page = await (await b.page('/', cookie)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const minted = await b.submit('/tokens', cookie, { csrf, scope: 'read:**', ttl: '10m' });
    expect(minted.status).toBe(200);

    const off = await b.send(`/scim/v2/Users/${id}`, {
      method: 'PATCH',
      headers: scimHeaders,
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      }),
    });
    expect(off.status, await off.clone().text()).toBe(200);
    expect((await revokedByScim()) - before).toBe(1);
  });
});
