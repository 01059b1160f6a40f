import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.js';

// A broker without sso.saml: its person's page is a page that says how to
// turn login on, not a dead end.

let broker: TestBroker;
beforeEach(async () => (broker = await startBroker()));
afterEach(() => broker.cleanup());

describe('the person page of a broker without browser login', () => {
  it.each(['/', '/tokens', '/device', '/saml/login'])(
    '%s names the README section and the demo, and links nowhere that leads back',
    async (path) => {
      const res = await broker.app.request(path, { headers: { Accept: 'text/html' } });
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('see &quot;Browser SSO&quot; in the README');
      expect(html).toContain('`npm start` in a folder without tokenbroker.yaml');
      expect(html).not.toContain('docs/sso.md');
      expect(html).not.toMatch(/<a href="\/"/);
      // Only the demo labels its pages.
      expect(html).toContain('<span class="brand">tokenbroker</span>');
    },
  );
});
