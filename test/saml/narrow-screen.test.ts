import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserStack, type BrowserStack } from '../helpers/browser-stack.js';

// The person's page on a phone (390 px, an iPhone's width): nothing scrolls
// sideways and the header's "Log out" stays on one line, with a token minted
// (the longest thing the page shows) and the token table filled.

const OUTPUT = join(process.cwd(), 'test-output', 'saml');
let stack: BrowserStack;

beforeAll(async () => {
  stack = await startBrowserStack();
});
afterAll(() => stack?.close());

async function overflow(page: Page) {
  return page.evaluate(() => ({
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    wide: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className}`)
      .slice(0, 5),
  }));
}

describe("the person's page at 390 px", () => {
  it('scrolls no sideways and keeps "Log out" on one line, before and after minting', async () => {
    const context = await stack.browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
    });
    const page = await context.newPage();
    await page.goto(`${stack.brokerUrl}/`);
    await page.getByLabel('Email').fill('alice@example.com');
    await page.getByLabel('Password').fill('correct horse');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.brokerUrl}/`);
    expect(await overflow(page)).toEqual({ page: 0, wide: [] });

    await page
      .getByLabel(/Scopes/)
      .fill('write:models/acme/bert read:datasets/acme/some-long-dataset-name');
    await page.getByLabel(/Lifetime/).fill('10m');
    await page.getByLabel(/Lifetime/).press('Enter');
    await page.waitForSelector('#new-token');
    expect(await overflow(page)).toEqual({ page: 0, wide: [] });

    const logout = page.getByRole('button', { name: 'Log out' });
    const box = (await logout.boundingBox())!;
    const lineHeight = await logout.evaluate((e) => parseFloat(getComputedStyle(e).lineHeight));
    expect(box.height).toBeLessThan(2 * lineHeight);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'person-page-390.png'), fullPage: true });
    await context.close();
  });
});
