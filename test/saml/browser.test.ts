import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_SECRET, basic, type TestBroker } from '../helpers/broker.js';
import { startBrowserStack, type BrowserStack } from '../helpers/browser-stack.js';

const OUTPUT = join(process.cwd(), 'test-output', 'saml');

let browser: Browser;
let broker: TestBroker;
let brokerUrl: string;
let stack: BrowserStack;

beforeAll(async () => {
  stack = await startBrowserStack();
  ({ browser, broker, brokerUrl } = stack);
});

afterAll(() => stack?.close());

describe('browser SSO end to end, in a real browser', () => {
  it('logs in at the IdP, mints and copies a token, revokes it, and logs out', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: brokerUrl });
    const page = await context.newPage();
    const scriptErrors: string[] = [];
    page.on('pageerror', (e) => scriptErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && scriptErrors.push(m.text()));

    await page.goto(`${brokerUrl}/`);
    expect(page.url()).toMatch(/\/sso\?SAMLRequest=/);
    // The login is bound to this browser by a cookie. Over plain http it is
    // SameSite=Lax (no SameSite=None without Secure); Chromium still sends it
    // on the IdP's auto-posted form, since the IdP is on the same site
    // (127.0.0.1, another port). The ACS refuses the login without it.
    const binding = (await context.cookies(brokerUrl)).find((c) => c.name === 'tb_saml_login');
    expect(binding).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false });
    await page.getByLabel('Email').fill('alice@example.com');
    await page.getByLabel('Password').fill('correct horse');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${brokerUrl}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Alice Example');
    // The finished login is forgotten by the browser.
    expect((await context.cookies(brokerUrl)).map((c) => c.name)).not.toContain('tb_saml_login');

    // Mint with the keyboard only: type the scope, Enter submits.
    await page.getByLabel(/Scopes/).fill('write:models/acme/bert');
    await page.getByLabel(/Lifetime/).fill('10m');
    await page.getByLabel(/Lifetime/).press('Enter');
    await page.waitForSelector('#new-token');
    const token = await page.locator('#new-token').inputValue();
    expect(await page.locator('#export-line').inputValue()).toBe(`export HF_TOKEN=${token}`);

    await page.getByRole('button', { name: 'Copy' }).first().click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'person-page.png'), fullPage: true });

    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${brokerUrl}/jwks`)), {
      issuer: brokerUrl,
      audience: 'https://hub.test',
      currentDate: new Date(broker.clock.now()),
    });
    expect(payload).toMatchObject({
      sub: 'user:alice@example.com',
      scope: 'write:models/acme/bert',
    });

    const revoke = page.getByRole('button', { name: /Revoke the token/ });
    await revoke.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${brokerUrl}/`);
    await expect.poll(() => page.getByText('No active token').count()).toBe(1);

    const introspection = await fetch(`${brokerUrl}/introspect`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: basic('hub', HUB_SECRET),
      },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(await introspection.json()).toEqual({ active: false });

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${brokerUrl}/saml/slo`);
    expect(await page.locator('h1').textContent()).toBe('You are logged out');
    await page.goto(`${brokerUrl}/`);
    expect(page.url()).toMatch(/\/sso\?SAMLRequest=/);

    expect(scriptErrors).toEqual([]);
    await context.close();
  });
});
