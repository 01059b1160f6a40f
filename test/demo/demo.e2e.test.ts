import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/broker.js';
import { chromiumPath } from '../helpers/chromium.js';
import { startDemoProcess, type DemoProcess } from './demo-process.js';

// `npm start` in a fresh folder, as a newcomer runs it: the built CLI's
// `serve` with no tokenbroker.yaml, on a free loopback port. Everything below
// talks to that process over HTTP, as a person, a CI job and a browser would.

const run = promisify(execFile);
const AUDIENCE = 'https://hub.example.com';

let demo: DemoProcess;
let dir: string;
let cleanup: () => void;
let browser: Browser;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  demo = await startDemoProcess(dir);
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  expect(await demo?.stop()).toBe(0);
  cleanup?.();
});

/** The banner's two CI lines, exactly as printed. */
function bannerCiCommands(): string[] {
  const lines = demo.stderr().split('\n');
  const start = lines.findIndex((l) => l.includes('2. A CI job'));
  return lines.slice(start + 1, start + 3).map((l) => l.trim());
}

async function verify(token: string) {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${demo.url}/jwks`)), {
    issuer: demo.url,
    audience: AUDIENCE,
  });
  return payload;
}

/** Exchanges a token minted by the demo's CI issuer with `overrides`. */
async function exchangeCiToken(overrides?: Record<string, unknown>): Promise<Response> {
  const minted = await fetch(`${demo.url}/demo/ci-token`, {
    method: 'POST',
    ...(overrides ? { body: JSON.stringify(overrides) } : {}),
  });
  expect(minted.status).toBe(200);
  return fetch(`${demo.url}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      subject_token: (await minted.text()).trim(),
    }),
  });
}

describe('npm start without a config: the demo', () => {
  it('prints where to log in, the three people, a curl pair and the login command', () => {
    const banner = demo.stderr();
    expect(banner).toMatch(/^tokenbroker: serving the demo on http:\/\/127\.0\.0\.1:\d+ /);
    expect(banner).toContain(`open ${demo.url}/ and log in`);
    for (const email of ['ada@example.com', 'ben@example.com', 'cy@example.com']) {
      expect(banner).toContain(email);
    }
    expect(bannerCiCommands()[0]).toBe(`CI_TOKEN=$(curl -s -X POST ${demo.url}/demo/ci-token)`);
    expect(banner).toContain(`tokenbroker login --broker ${demo.url}`);
    expect(existsSync(join(dir, 'data', 'demo.db'))).toBe(true);
  });

  it("gives a workspace token for the banner's curl pair, pasted into a shell", async () => {
    const { stdout } = await run('sh', ['-c', bannerCiCommands().join('\n')]);
    const answer = JSON.parse(stdout) as { access_token: string; scope: string };
    expect(answer.scope).toBe('write:models/acme/* read:datasets/acme/**');
    expect(await verify(answer.access_token)).toMatchObject({
      sub: 'ci:demo-ci:repo:acme/models:ref:refs/heads/main',
      scope: 'write:models/acme/* read:datasets/acme/**',
    });
  });

  // What a CI job would see with another branch, repository or audience.
  it.each([
    [
      'a feature branch gets the read-only policy',
      { ref: 'refs/heads/feature/x' },
      200,
      'read:models/acme/*',
      undefined,
    ],
    [
      'another repository is refused',
      { repository: 'evil/models' },
      400,
      undefined,
      'no trust policy',
    ],
    [
      'a token for another audience is refused',
      { aud: 'https://elsewhere.example' },
      400,
      undefined,
      'audience',
    ],
  ] as const)(
    'exchanges CI tokens with claims changed: %s',
    async (_, overrides, status, scope, why) => {
      const res = await exchangeCiToken(overrides);
      const body = (await res.json()) as { scope?: string; error_description?: string };
      expect(res.status).toBe(status);
      expect(body.scope).toBe(scope);
      if (why) expect(body.error_description).toContain(why);
    },
  );

  it('refuses a CI token request whose claims are not a JSON object, saying how to send them', async () => {
    const res = await fetch(`${demo.url}/demo/ci-token`, { method: 'POST', body: '[1]' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toContain(
      'send the claims to change as one JSON object',
    );
  });
});

describe('the demo in a browser', () => {
  /** Logs in through the demo IdP as `user`; returns the page after the ACS. */
  async function logIn(user: string): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${demo.url}/`);
    expect(page.url()).toContain(`${demo.url}/demo/saml/sso?SAMLRequest=`);
    expect(await page.locator('header .label').textContent()).toBe('demo');
    await page.getByRole('button', { name: `Log in as ${user}` }).click();
    await page.waitForURL(new RegExp(`^${demo.url}/(\\?|$)`));
    return page;
  }

  it('logs in the person with write access, who creates a token on their page', async () => {
    const page = await logIn('ada');
    expect(await page.locator('h1').textContent()).toBe('Ada Lovelace');
    expect(await page.locator('header .label').textContent()).toBe('demo');
    await page.getByLabel(/Scopes/).fill('write:models/acme/bert');
    await page.getByLabel(/Scopes/).press('Enter');
    await page.waitForSelector('#new-token');
    const token = await page.locator('#new-token').inputValue();
    expect(await verify(token)).toMatchObject({
      sub: 'user:ada@example.com',
      scope: 'write:models/acme/bert',
    });
    await page.context().close();
  });

  it('logs in the read-only person, who may not create a write token', async () => {
    const page = await logIn('ben');
    expect(await page.locator('h1').textContent()).toBe('Ben Reader');
    await page.getByLabel(/Scopes/).fill('write:models/acme/bert');
    await page.getByLabel(/Scopes/).press('Enter');
    await page.waitForSelector('p.error');
    expect(await page.locator('#new-token').count()).toBe(0);
    await page.context().close();
  });

  it('shows the person with no role the no-access page, with "demo" in its header', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${demo.url}/`);
    await page.getByRole('button', { name: 'Log in as cy' }).click();
    await page.waitForURL(`${demo.url}/saml/acs`);
    expect(await page.locator('h1').textContent()).toBe('No access');
    expect(await page.locator('header .label').textContent()).toBe('demo');
    expect(await page.locator('#new-token').count()).toBe(0);
    await context.close();
  });
});

describe('the demo from a terminal', () => {
  it("logs in with the banner's login command, approved in the browser through the demo IdP", async () => {
    const line = demo
      .stderr()
      .split('\n')
      .find((l) => l.includes(' login --broker '))!;
    const args = line.trim().split(' ').slice(1); // after `tokenbroker`
    expect(args).toEqual(['login', '--broker', demo.url]);
    const config = join(dir, 'config');
    const child = spawn(
      process.execPath,
      [resolve('bin/tokenbroker.js'), ...args, '--no-browser', '--scope', 'read:models/acme/*'],
      { cwd: dir, env: { ...process.env, XDG_CONFIG_HOME: config } },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      for (let i = 0; !/enter the code ([A-Z]{4}-[A-Z]{4})/.test(stderr); i++) {
        if (i > 100 || child.exitCode !== null) throw new Error(`login printed no code: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const code = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(stderr)![1]!;
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${demo.url}/device?user_code=${code}`);
      await page.getByRole('button', { name: 'Log in as ada' }).click();
      await page.waitForURL(`${demo.url}/device?user_code=${code}`);
      expect(await page.locator('header .label').textContent()).toBe('demo');
      await page.getByRole('button', { name: 'Approve' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('You approved this request');
      await context.close();
      // The terminal's next poll (every 5 s, as RFC 8628 asks) gets the token.
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stdout).toContain('ada@example.com');
    const saved = readFileSync(join(config, 'tokenbroker', 'credentials.json'), 'utf8');
    const token = /"(eyJ[\w-]+\.[\w-]+\.[\w-]+)"/.exec(saved)![1]!;
    expect(await verify(token)).toMatchObject({
      sub: 'user:ada@example.com',
      scope: 'read:models/acme/*',
    });
  }, 40_000);
});
