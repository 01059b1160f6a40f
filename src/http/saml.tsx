import { Hono, type Context } from 'hono';
import { nowSeconds } from '../clock.js';
import { BrokerError, isBrokerError } from '../errors.js';
import { mapIdentity, matchRoles, personSubject, type Identity } from '../saml/identity.js';
import { checkReturnTo, safeRelayState } from '../saml/return-to.js';
import type { VerifiedAssertion } from '../saml/assertion.js';
import { csrfMatches } from '../sessions/sessions.js';
import { htmlResponse } from './html.js';
import { MessagePage, renderPage } from './pages/layout.js';
import { readParams, required } from './params.js';
import { requestInfo } from './respond.js';
import { page, type SsoContext } from './sso.js';

/** GET /saml/metadata, GET /saml/login, POST /saml/acs, POST /saml/logout, /saml/slo. */
export function samlRoutes(ctx: SsoContext): Hono {
  const { deps, sp, sessions } = ctx;
  const app = new Hono();
  const audit = (c: Context, event: Parameters<typeof deps.store.appendAudit>[0]) =>
    deps.store.appendAudit({ source: 'web', ...requestInfo(c, deps), ...event });

  app.get('/saml/metadata', (c) => {
    c.header('Content-Type', 'application/samlmetadata+xml; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(sp.metadata());
  });

  app.get(
    '/saml/login',
    page(async (c) => {
      const returnTo = checkReturnTo(c.req.query('return_to'));
      const url = await sp.loginUrl(returnTo);
      c.header('Cache-Control', 'no-store');
      return c.redirect(url, 302);
    }),
  );

  app.post(
    '/saml/acs',
    page(async (c) => {
      const params = await readParams(c);
      const now = nowSeconds(deps.clock);
      let assertion: VerifiedAssertion;
      let identity: Identity;
      try {
        assertion = await sp.consume(required(params, 'SAMLResponse'));
        identity = mapIdentity(assertion, ctx.saml);
      } catch (e) {
        if (isBrokerError(e) && e.status < 500) {
          await audit(c, {
            time: now,
            event: 'login.failed',
            outcome: 'denied',
            reason: `${e.code}: ${e.message}`,
            detail: e.detail ?? null,
          });
        }
        throw e;
      }
      const subject = personSubject(identity.email);
      const roles = matchRoles(ctx.sso.roles, identity.claims);
      if (roles.length === 0) {
        await audit(c, {
          time: now,
          event: 'login.no_access',
          outcome: 'denied',
          subject,
          reason: 'no role in sso.roles matches this person',
          detail: { groups: identity.groups.slice(0, 50), assertionId: assertion.id },
        });
        throw new BrokerError(
          'no_access',
          `you are signed in at your IdP as ${identity.email}, but no role of this broker (sso.roles) includes you, so there is nothing you may request here: ask your administrator for access`,
        );
      }
      await sessions.start(c, subject, {
        identity,
        idp: {
          nameId: assertion.nameId,
          nameIdFormat: assertion.nameIdFormat,
          sessionIndex: assertion.sessionIndex,
        },
      });
      await audit(c, {
        time: now,
        event: 'login',
        outcome: 'success',
        subject,
        policy: roles.map((r) => r.name).join(','),
        detail: { assertionId: assertion.id, roles: roles.map((r) => r.name) },
      });
      return c.redirect(safeRelayState(params.RelayState), 303);
    }),
  );

  app.post(
    '/saml/logout',
    page(async (c) => {
      const params = await readParams(c);
      const session = await sessions.read(c);
      let next = '/saml/slo';
      if (session) {
        if (!csrfMatches(session, params.csrf)) {
          throw new BrokerError(
            'csrf_failed',
            'this logout form is stale: reload the page and log out from it',
          );
        }
        await sessions.end(c);
        await audit(c, {
          time: nowSeconds(deps.clock),
          event: 'logout',
          outcome: 'success',
          subject: session.subject,
        });
        next = (await sp.logoutUrl(session.data.idp, '/saml/slo')) ?? next;
      }
      c.header('Cache-Control', 'no-store');
      return c.redirect(next, 303);
    }),
  );

  // Where the IdP's single logout returns the browser. Nothing here changes
  // state (the session already ended), so nothing here needs trusting.
  const loggedOut = page((c) =>
    htmlResponse(
      c,
      renderPage(
        <MessagePage
          title="You are logged out"
          message="Your session on this broker has ended. Tokens you created stay valid until they expire or you revoke them."
          action={{ href: '/saml/login', label: 'Log in again' }}
        />,
      ),
      200,
    ),
  );
  app.get('/saml/slo', loggedOut);
  app.post('/saml/slo', loggedOut);
  return app;
}
