import { afterEach, describe, expect, it } from 'vitest';
import { EXCHANGE, form } from '../helpers/broker.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import type { SamlTestBroker } from '../helpers/saml-broker.js';
import { adminPage, loginAdmin, startAdminBroker } from './admin-broker.js';

let t: SamlTestBroker;
let github: TestIssuer | undefined;
afterEach(async () => {
  await t?.cleanup();
  await github?.close();
  github = undefined;
});

const MARKUP = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
const HOSTILE = `${MARKUP}\u001b[31m\u202e`;
/** A header carries bytes only: markup and a terminal escape, no bidi override. */
const HOSTILE_UA = `ua ${MARKUP}\u001b[31m`;

/** A broker that trusts a real test issuer for acme/*, so a CI job can write its own subject. */
async function withCi(): Promise<void> {
  github = await startTestIssuer();
  t = await startAdminBroker({
    ci: {
      providers: [
        { name: 'github', issuer: github.url, kind: 'github', audiences: ['https://broker.test'] },
      ],
      policies: [
        {
          name: 'acme',
          provider: 'github',
          match: { repository: 'acme/*' },
          grant: ['read:models/acme/**'],
        },
      ],
    },
  });
}

async function exchange(token: string, userAgent: string): Promise<Response> {
  const init = form({
    grant_type: EXCHANGE.grant_type,
    subject_token: token,
    subject_token_type: EXCHANGE.idToken,
  });
  return t.broker.app.request('/token', {
    ...init,
    headers: { ...(init.headers as Record<string, string>), 'User-Agent': userAgent },
  });
}

describe('the admin page: what it shows', () => {
  it('escapes what a CI job wrote (its subject, its user agent, a refusal quoting its claims) in text and attributes', async () => {
    await withCi();
    const admin = await loginAdmin(t);
    const now = t.clock.now() / 1000;
    const claims = { sub: `repo:acme/models:${HOSTILE}`, iat: now, nbf: now, exp: now + 300 };
    const ok = await exchange(await github!.github(claims), HOSTILE_UA);
    expect(ok.status).toBe(200);
    const refused = await exchange(
      await github!.github({ ...claims, repository: `evil/${HOSTILE}` }),
      HOSTILE_UA,
    );
    expect(refused.status).toBe(400);

    const { status, html } = await adminPage(t, admin.cookie);
    expect(status).toBe(200);
    const denials = html.slice(
      html.indexOf('id="denials-title"'),
      html.indexOf('id="audit-title"'),
    );
    expect(denials).toContain(
      'no trust policy matched: provider github, repository evil/&quot;&gt;',
    );
    // The live token, its session-less subject in the hidden fields, the denial and the log.
    expect(html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;',
    );
    expect(html).toContain('aria-label="Revoke the token of ci:github:repo:acme/models:&quot;&gt;');
    expect(html).not.toMatch(/<script>alert|<img src=x|="x" onerror/);
    // No terminal escape or bidi override reaches the page raw, in text or attributes.
    expect(html).not.toContain('\u001b');
    expect(html).not.toContain('\u202e');
    // Every script on the page is the one file the CSP allows.
    expect(html.match(/<script[^>]*>/g)).toEqual([
      '<script src="/static/tokenbroker.js" defer="">',
    ]);
  });

  it('searches the audit log by subject, event and since, newest first', async () => {
    t = await startAdminBroker();
    const admin = await loginAdmin(t);
    const now = Math.floor(t.clock.now() / 1000);
    const row = (event: string, subject: string, ago: number, reason: string) =>
      t.broker.store.appendAudit({ time: now - ago, event, outcome: 'success', subject, reason });
    await row('token.issued', 'user:a@example.com', 7200, 'issued-two-hours-ago');
    await row('token.revoked', 'user:a@example.com', 600, 'revoked-ten-minutes-ago');
    await row('token.issued', 'user:b@example.com', 300, 'issued-five-minutes-ago');
    await row('token.issued', 'user:a@example.com', 60, 'issued-a-minute-ago');

    const order = (html: string) =>
      [...html.matchAll(/(issued|revoked)-[a-z-]+-ago/g)].map((m) => m[0]);
    const search = async (query: string) => {
      const page = await adminPage(t, admin.cookie, query);
      expect(page.status).toBe(200);
      return order(page.html.slice(page.html.indexOf('id="audit-title"')));
    };
    expect(await search('')).toEqual([
      'issued-a-minute-ago',
      'issued-five-minutes-ago',
      'revoked-ten-minutes-ago',
      'issued-two-hours-ago',
    ]);
    expect(await search('?subject=user:a@example.com&event=token.issued')).toEqual([
      'issued-a-minute-ago',
      'issued-two-hours-ago',
    ]);
    expect(await search('?since=1h')).toEqual([
      'issued-a-minute-ago',
      'issued-five-minutes-ago',
      'revoked-ten-minutes-ago',
    ]);
    const date = new Date((now - 400) * 1000).toISOString().slice(0, 19).replace('T', ' ');
    expect(await search(`?since=${encodeURIComponent(date)}`)).toEqual([
      'issued-a-minute-ago',
      'issued-five-minutes-ago',
    ]);
  });

  it.each([
    ['a since it cannot read', '?since=yesterday', 'neither a duration (24h, 7d) nor a UTC date'],
    ['a date that does not exist', '?since=2026-02-31', 'neither a duration'],
    ['an hour past 23', '?since=2026-01-15%2024:00', 'neither a duration'],
    ['a subject too long to be one', `?subject=${'x'.repeat(1100)}`, 'longer than 1024 characters'],
  ])(
    'answers %s with a 400 page that says what to type, and the rest of the page',
    async (_, q, message) => {
      t = await startAdminBroker();
      const admin = await loginAdmin(t);
      const page = await adminPage(t, admin.cookie, q);
      expect(page.status).toBe(400);
      expect(page.html).toContain(message);
      expect(page.html).toContain('id="audit-title"');
    },
  );

  it('shows at most the newest 200 rows of a list, and says so', async () => {
    t = await startAdminBroker();
    const admin = await loginAdmin(t);
    const now = Math.floor(t.clock.now() / 1000);
    for (let i = 0; i < 205; i++) {
      await t.broker.store.appendAudit({
        time: now - 1000 + i,
        event: 'probe',
        outcome: 'success',
        reason: `probe-${i}-row`,
      });
    }
    const { html } = await adminPage(t, admin.cookie, '?event=probe');
    expect(html).toContain('Showing the newest 200');
    expect(html).toContain('probe-204-row');
    expect(html).toContain('probe-5-row');
    expect(html).not.toContain('probe-4-row');
  });

  it('says browser login is not configured when the broker has no SSO', async () => {
    const { startBroker } = await import('../helpers/broker.js');
    const broker = await startBroker();
    try {
      const res = await broker.app.request('/admin', { headers: { Accept: 'text/html' } });
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('browser login is not configured on this broker');
    } finally {
      await broker.cleanup();
    }
  });
});
