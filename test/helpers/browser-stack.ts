import { chromium, type Browser } from 'playwright-core';
import type { Hono } from 'hono';
import { ManualClock } from '../../src/shared/clock.js';
import { startBroker, testConfig, type TestBroker } from './broker.js';
import { chromiumPath } from './chromium.js';
import { listen } from './listen.js';
import { ROLES } from './saml-broker.js';
import { startIdpServer } from './saml-idp-server.js';

export interface BrowserStack {
  browser: Browser;
  broker: TestBroker;
  brokerUrl: string;
  close(): Promise<void>;
}

/**
 * What a browser test drives: a broker listening on loopback whose issuer is
 * its own URL, a SAML IdP served over HTTP that signs in anyone, both on one
 * manual clock, and headless Chromium.
 */
export async function startBrowserStack(
  options: {
    /** sso.roles; the test roles unless given. */
    roles?: unknown[];
    /** The groups the IdP asserts for everyone who signs in. */
    groups?: string[];
  } = {},
): Promise<BrowserStack> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const clock = new ManualClock(Date.now());
    // The config needs the broker's URL, so the app is built after the port is known.
    const ref: { app?: Hono } = {};
    const server = await listen((req) => ref.app!.fetch(req));
    closers.push(server.close);
    const brokerUrl = server.url;
    const idp = await startIdpServer({
      now: () => clock.now(),
      acsUrl: `${brokerUrl}/saml/acs`,
      audience: `${brokerUrl}/saml/metadata`,
      ...(options.groups ? { groups: options.groups } : {}),
    });
    closers.push(idp.close);
    const config = await testConfig({
      issuer: brokerUrl,
      sso: {
        saml: {
          idp: {
            entity_id: idp.idp.entityId,
            entry_point: idp.idp.ssoUrl,
            certs: [idp.idp.keys.certPem],
          },
        },
        roles: options.roles ?? ROLES,
      },
    });
    const broker = await startBroker({ config, clock });
    closers.push(() => broker.cleanup());
    ref.app = broker.app;
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    closers.push(() => browser.close());
    return { browser, broker, brokerUrl, close };
  } catch (e) {
    await close();
    throw e;
  }
}
