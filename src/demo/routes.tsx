import { Hono, type Context } from 'hono';
import { htmlResponse } from '../http/html.js';
import { renderPage } from '../http/pages/layout.js';
import { bodyText } from '../http/params.js';
import { BrokerError } from '../shared/errors.js';
import { ciCommands } from './banner.js';
import type { DemoCiIssuer } from './ci-issuer.js';
import { AUTOPOST_SCRIPT, DemoHomePage, LoginPage, PostToAcsPage } from './pages.js';
import type { DemoIdp } from './saml-idp.js';
import { demoUser } from './users.js';

export const DEMO_LABEL = 'demo';
/** The broker generates RelayState (a short opaque value); anything longer is not its own. */
const MAX_RELAY_STATE = 1024;

/**
 * /demo/*: the test IdP (/demo/saml/*) and the test CI issuer (discovery,
 * JWKS, /demo/ci-token), served by the broker's own listener so the demo is
 * one process on one port. Mounted on the broker's app, they get its
 * request ids, access log, body limit and error pages.
 */
export function demoRoutes(o: { url: string; idp: DemoIdp; ci: DemoCiIssuer }): Hono {
  const app = new Hono();
  const page = (c: Context, el: unknown, status = 200) => {
    c.set('errorFormat', 'html');
    return htmlResponse(c, renderPage(el, DEMO_LABEL), status);
  };
  const refuse = (message: string): never => {
    throw new BrokerError('invalid_request', message);
  };

  app.get('/demo', (c) => c.redirect('/demo/', 302));
  app.get('/demo/', (c) => page(c, <DemoHomePage url={o.url} commands={ciCommands(o.url)} />));

  app.get('/demo/saml/sso', (c) => {
    c.set('errorFormat', 'html');
    const authn = o.idp.readAuthnRequest(c.req.query('SAMLRequest'));
    if ('problem' in authn) refuse(`demo IdP: ${authn.problem}`);
    const relay = c.req.query('RelayState') ?? '';
    if (relay.length > MAX_RELAY_STATE) refuse('demo IdP: RelayState is too long');
    const { id } = authn as { id: string };
    return page(c, <LoginPage requestId={id} relayState={relay} />);
  });

  app.post('/demo/saml/login', async (c) => {
    c.set('errorFormat', 'html');
    const form = new URLSearchParams(await bodyText(c));
    const user = demoUser(form.get('user') ?? undefined);
    const request = form.get('request') ?? '';
    const relay = form.get('relay') ?? '';
    if (!user) refuse('demo IdP: choose one of the demo people on the login form');
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/.test(request)) {
      refuse('demo IdP: the login form lost its request: start again at /saml/login');
    }
    if (relay.length > MAX_RELAY_STATE) refuse('demo IdP: RelayState is too long');
    const response = o.idp.response(user!, request);
    return page(
      c,
      <PostToAcsPage
        acsUrl={o.idp.acsUrl}
        samlResponse={response}
        relayState={relay}
        email={user!.email}
      />,
    );
  });

  app.get('/demo/static/autopost.js', (c) => {
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'no-cache');
    return c.body(AUTOPOST_SCRIPT);
  });

  app.get('/demo/.well-known/openid-configuration', (c) => c.json(o.ci.discovery()));
  app.get('/demo/jwks', (c) => c.json(o.ci.jwks()));

  app.post('/demo/ci-token', async (c) => {
    const text = (await bodyText(c)).trim();
    let overrides: unknown = {};
    if (text) {
      try {
        overrides = JSON.parse(text);
      } catch {
        refuse(
          'demo CI issuer: the body is not JSON: send the claims to change as one JSON object, e.g. {"ref": "refs/heads/feature/x"}, or no body',
        );
      }
    }
    const minted = await o.ci.mint(overrides);
    if ('problem' in minted) return refuse(`demo CI issuer: ${minted.problem}`);
    c.header('Cache-Control', 'no-store');
    return c.text(`${minted.token}\n`);
  });

  return app;
}
