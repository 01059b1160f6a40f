import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBroker } from '../helpers/broker.js';
import { startBrowserStack, type BrowserStack } from '../helpers/browser-stack.js';
import { authorize, overHttp, poll } from '../helpers/device.js';

// The approval page in Chromium: the person opens the link the terminal
// printed, logs in at the IdP, lands back on the page with the code, and
// approves with the keyboard; the terminal's next poll gets the token.

const OUTPUT = join(process.cwd(), 'test-output', 'device');

let browser: Browser;
let broker: TestBroker;
let brokerUrl: string;
let stack: BrowserStack;

beforeAll(async () => {
  stack = await startBrowserStack();
  ({ browser, broker, brokerUrl } = stack);
});

afterAll(() => stack?.close());

describe('the device approval page, in a real browser', () => {
  it('logs in through the IdP from the printed link, approves with the keyboard, and denies what the roles do not cover', async () => {
    const device = overHttp(brokerUrl);
    const started = await authorize(
      device,
      { scope: 'read:models/acme/bert', ttl: '20m' },
      {
        'User-Agent': 'tokenbroker-cli/0.1 <b>linux</b>',
      },
    );
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    const scriptErrors: string[] = [];
    page.on('pageerror', (e) => scriptErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && scriptErrors.push(m.text()));

    await page.goto(started.verification_uri_complete);
    expect(page.url()).toMatch(/\/sso\?SAMLRequest=/);
    await page.getByLabel('Email').fill('alice@example.com');
    await page.getByLabel('Password').fill('correct horse');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${brokerUrl}/device?user_code=${started.user_code}`);
    expect(await page.getByLabel('Code').textContent()).toBe(started.user_code);
    // The requester's user agent is shown as text, tags and all.
    await expect.poll(() => page.getByText('tokenbroker-cli/0.1 <b>linux</b>').count()).toBe(1);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'approve.png'), fullPage: true });

    const approve = page.getByRole('button', { name: 'Approve' });
    await approve.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${brokerUrl}/device?user_code=${started.user_code}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('You approved this request');

    broker.clock.advance(5);
    const got = await poll(device, started.device_code);
    expect(got.status).toBe(200);
    const { payload } = await jwtVerify(
      got.body.access_token as string,
      createRemoteJWKSet(new URL(`${brokerUrl}/jwks`)),
      {
        issuer: brokerUrl,
        audience: 'https://hub.test',
        currentDate: new Date(broker.clock.now()),
      },
    );
    expect(payload).toMatchObject({
      sub: 'user:alice@example.com',
      scope: 'read:models/acme/bert',
    });
    expect(payload.exp! - payload.iat!).toBe(20 * 60);

    await page.goto(`${brokerUrl}/`);
    await expect.poll(() => page.getByText('read:models/acme/bert').count()).toBe(1);

    // A request beyond the person's roles: typed by hand, no Approve, Deny works.
    const wide = await authorize(device, { scope: 'write:datasets/acme/corpus' });
    await page.goto(`${brokerUrl}/device`);
    await page.getByLabel(/Code/).fill(wide.user_code.toLowerCase().replace('-', ' '));
    await page.getByLabel(/Code/).press('Enter');
    await page.waitForURL(/\/device\?user_code=/);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('beyond your roles');
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await page.screenshot({ path: join(OUTPUT, 'beyond-roles.png'), fullPage: true });
    await page.getByRole('button', { name: 'Deny' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('You denied this request');
    expect((await poll(device, wide.device_code)).body.error).toBe('access_denied');
    expect(scriptErrors).toEqual([]);
    await context.close();
  });
});
