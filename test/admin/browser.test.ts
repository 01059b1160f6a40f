import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_SECRET, basic } from '../helpers/broker.js';
import { startBrowserStack, type BrowserStack } from '../helpers/browser-stack.js';
import { ADMIN_ROLES } from './admin-broker.js';

const OUTPUT = join(process.cwd(), 'test-output', 'admin');

let stack: BrowserStack;

beforeAll(async () => {
  // The test IdP asserts the same groups for everyone: both people may open /admin here.
  stack = await startBrowserStack({
    roles: ADMIN_ROLES,
    groups: ['ml-engineers', 'broker-admins'],
  });
});

afterAll(() => stack?.close());

/** A browser of its own, signed in at the IdP as `email` after opening `path`. */
async function signedIn(
  email: string,
  path: string,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await stack.browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A CSP violation is a console error: none may happen.
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${stack.brokerUrl}${path}`);
  expect(page.url()).toMatch(/\/sso\?SAMLRequest=/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.brokerUrl}${path}`);
  return { context, page, errors };
}

async function active(token: string): Promise<boolean> {
  const res = await fetch(`${stack.brokerUrl}/introspect`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: basic('hub', HUB_SECRET),
    },
    body: new URLSearchParams({ token }).toString(),
  });
  return ((await res.json()) as { active: boolean }).active;
}

describe('the admin page in a real browser', () => {
  it("revokes a person's token and ends their sessions with clicks", async () => {
    const alice = await signedIn('alice@example.com', '/');
    await alice.page.getByLabel(/Scopes/).fill('read:models/acme/bert');
    await alice.page.getByRole('button', { name: 'Create token' }).click();
    await alice.page.waitForSelector('#new-token');
    const token = await alice.page.locator('#new-token').inputValue();
    expect(await active(token)).toBe(true);

    const admin = await signedIn('root@example.com', '/admin');
    const { page } = admin;
    expect(await page.locator('h1').textContent()).toBe('Admin');
    const tokens = page.getByRole('table', { name: 'Live tokens' });
    await expect.poll(() => tokens.getByText('read:models/acme/bert').count()).toBe(1);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'admin-page.png'), fullPage: true });

    await page
      .getByRole('button', { name: /^Revoke the token of user:alice@example\.com/ })
      .click();
    await page.waitForURL(`${stack.brokerUrl}/admin`);
    await expect.poll(() => tokens.getByText('read:models/acme/bert').count()).toBe(0);
    expect(await active(token)).toBe(false);

    const sessions = page.getByRole('table', { name: 'Live sessions' });
    expect(await sessions.getByText('user:alice@example.com').count()).toBe(1);
    await page.getByRole('button', { name: 'End the sessions of user:alice@example.com' }).click();
    await page.waitForURL(`${stack.brokerUrl}/admin`);
    await expect.poll(() => sessions.getByText('user:alice@example.com').count()).toBe(0);
    // The revocation and the ended sessions are in the log, with the admin as actor.
    const log = page.getByRole('table', { name: 'Audit log' });
    expect(await log.getByText('session.ended').count()).toBe(1);
    expect(await log.getByText('"actor":"user:root@example.com"', { exact: false }).count()).toBe(
      2,
    );

    // Alice's next request asks her to log in again.
    await alice.page.goto(`${stack.brokerUrl}/`);
    expect(alice.page.url()).toMatch(/\/sso\?SAMLRequest=/);

    expect([...alice.errors, ...admin.errors]).toEqual([]);
    await alice.context.close();
    await admin.context.close();
  });
});
