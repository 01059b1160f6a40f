import { listen } from './listen.js';
import { TestIdp, readAuthnRequest } from './saml-idp.js';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The test IdP on a loopback port, for the browser test: a login form, then
 * an auto-posting form that carries the signed Response to the broker's ACS,
 * as Okta or Keycloak do.
 */
export async function startIdpServer(options: {
  now: () => number;
  acsUrl: string;
  audience: string;
  groups?: string[];
}): Promise<{ url: string; idp: TestIdp; close: () => Promise<void> }> {
  // Built once the port is known; the handler runs only after that.
  const ref: { idp?: TestIdp } = {};
  const server = await listen(async (req) => {
    const url = new URL(req.url);
    if (req.method === 'GET' && url.pathname === '/sso') {
      const authn = readAuthnRequest(req.url);
      return html(`<h1>Test IdP</h1>
<form method="post" action="/sso/login">
  <input type="hidden" name="id" value="${esc(authn.id)}">
  <input type="hidden" name="relay" value="${esc(authn.relayState ?? '')}">
  <label>Email <input name="email" autocomplete="username"></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Sign in</button>
</form>`);
    }
    if (req.method === 'POST' && url.pathname === '/sso/login') {
      const form = new URLSearchParams(await req.text());
      const response = ref.idp!.response({
        acsUrl: options.acsUrl,
        audience: options.audience,
        inResponseTo: form.get('id')!,
        nameId: form.get('email')!,
        attributes: {
          email: [form.get('email')!],
          displayName: ['Alice Example'],
          groups: options.groups ?? ['ml-engineers'],
        },
      });
      return html(`<form id="f" method="post" action="${esc(options.acsUrl)}">
  <input type="hidden" name="SAMLResponse" value="${esc(response)}">
  <input type="hidden" name="RelayState" value="${esc(form.get('relay') ?? '')}">
  <noscript><button>Continue</button></noscript>
</form><script>document.getElementById('f').submit()</script>`);
    }
    if (url.pathname === '/favicon.ico') return new Response(null, { status: 204 });
    return new Response('not found', { status: 404 });
  });
  const idp = new TestIdp(options.now, `${server.url}/metadata`, `${server.url}/sso`);
  ref.idp = idp;
  return { url: server.url, idp, close: server.close };
}

const html = (body: string) =>
  new Response(`<!doctype html><html><body>${body}</body></html>`, {
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
  });
