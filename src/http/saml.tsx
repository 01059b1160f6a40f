import { Hono, type Context } from 'hono';
import { nowSeconds } from '../shared/clock.js';
import { BrokerError, isBrokerError } from '../shared/errors.js';
import { failureCode } from '../shared/metrics.js';
import { DENIAL_BUDGET, boundDenial } from '../exchange/denial-audit.js';
import { checkEmail } from '../saml/email.js';
import { looksLikeEmail, mapIdentity, personSubject, type Identity } from '../saml/identity.js';
import type { LogoutRequest } from '../saml/logout.js';
import { checkReturnTo, safeRelayState } from '../saml/return-to.js';
import type { VerifiedAssertion } from '../saml/assertion.js';
import type { AuditEvent } from '../store/types.js';
import { matchRoles } from '../policy/roles.js';
import { loginStanding, STANDING_MESSAGE, type LoginStanding } from '../scim/gate.js';
import { csrfMatches } from '../sessions/sessions.js';
import { page, readSession, type SsoContext } from './browser.js';
import { readCookie, writeCookies } from './cookies.js';
import { htmlResponse } from './html.js';
import { MessagePage, renderPage } from './pages/layout.js';
import { readParams } from './params.js';
import { required } from '../protocol/oauth.js';
import { requestInfo } from './respond.js';

/** GET /saml/metadata, GET /saml/login, POST /saml/acs, POST /saml/logout, /saml/slo. */
export function samlRoutes(ctx: SsoContext): Hono {
  const { deps, sp, sessions, binding } = ctx;
  const app = new Hono();
  const audit = (c: Context, event: Parameters<typeof deps.store.appendAudit>[0]) =>
    deps.store.appendAudit({ source: 'web', ...requestInfo(c, deps), ...event });
  /**
   * Audits a refused SAML message (a 4xx: the sender's fault), then lets it
   * reach the error page. Its reason and detail can quote what the message
   * says before any signature is checked (Destination, Issuer, IssueInstant),
   * and anyone can post one: the row is bounded like any refusal of a request
   * that proved nothing.
   */
  async function auditRefusal(
    c: Context,
    event: 'login.failed' | 'logout.failed',
    time: number,
    e: unknown,
  ): Promise<never> {
    if (isBrokerError(e) && e.status < 500) {
      const row: AuditEvent = {
        source: 'web',
        ...requestInfo(c, deps),
        time,
        event,
        outcome: 'denied',
        reason: `${e.code}: ${e.message}`,
        detail: e.detail ?? null,
      };
      await deps.store.appendAudit(boundDenial(row, DENIAL_BUDGET.anonymous));
    }
    throw e;
  }

  /** SCIM's say on a login (src/scim/gate.ts): refused with its own page, audited. */
  async function refuseUnlessProvisioned(
    c: Context,
    subject: string,
    time: number,
    assertionId: string,
  ): Promise<void> {
    const standing = await loginStanding(deps.store, deps.config.scim, subject);
    if (standing !== 'allowed') await refuse(c, subject, time, assertionId, standing);
  }

  async function refuse(
    c: Context,
    subject: string,
    time: number,
    assertionId: string,
    standing: Exclude<LoginStanding, 'allowed'>,
  ): Promise<never> {
    await audit(c, {
      time,
      event: 'login.deprovisioned',
      outcome: 'denied',
      subject,
      reason:
        standing === 'deprovisioned'
          ? 'the directory deactivated or deleted this person (SCIM)'
          : 'scim.require_provisioned is on and the directory never provisioned this person',
      detail: { assertionId },
    });
    throw new BrokerError('no_access', STANDING_MESSAGE[standing]);
  }

  app.get('/saml/metadata', (c) => {
    c.header('Content-Type', 'application/samlmetadata+xml; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(sp.metadata());
  });

  app.get(
    '/saml/login',
    page(async (c) => {
      const returnTo = checkReturnTo(c.req.query('return_to'));
      // The request id goes into this browser's cookie, not the database.
      const login = binding.start(readCookie(c, binding.cookieName));
      writeCookies(c, login.cookie);
      const url = await sp.loginUrl(returnTo, login.id);
      c.header('Cache-Control', 'no-store');
      return c.redirect(url, 302);
    }),
  );

  app.post(
    '/saml/acs',
    page(async (c) => {
      const params = await readParams(c);
      const now = nowSeconds(deps.clock);
      const loginCookie = readCookie(c, binding.cookieName);
      let assertion: VerifiedAssertion;
      let identity: Identity;
      let requestId: string | undefined;
      try {
        assertion = await sp.consume(required(params, 'SAMLResponse'), (inResponseTo) => {
          const pending = binding.require(loginCookie, inResponseTo);
          requestId = pending.id;
          return pending;
        });
        identity = mapIdentity(assertion, ctx.saml);
      } catch (e) {
        deps.metrics.samlLogin(failureCode(e));
        return auditRefusal(c, 'login.failed', now, e);
      }
      const subject = personSubject(identity.email);
      // Before roles: a person the directory removed learns nothing more here.
      await refuseUnlessProvisioned(c, subject, now, assertion.id);
      const roles = matchRoles(ctx.deps.trust.roles, identity.claims);
      if (roles.length === 0) {
        deps.metrics.samlLogin('no_access');
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
      const sessionCookie = await sessions.start(readCookie(c, sessions.cookieName), subject, {
        identity,
        idp: {
          nameId: assertion.nameId,
          nameIdFormat: assertion.nameIdFormat,
          sessionIndex: assertion.sessionIndex,
        },
      });
      // Asked again now the session exists: a deactivation that committed
      // since the check above did not see this session, so it is ended here.
      const standing = await loginStanding(deps.store, deps.config.scim, subject);
      if (standing !== 'allowed') {
        await sessions.end(sessionCookie.value);
        await refuse(c, subject, now, assertion.id, standing);
      }
      writeCookies(
        c,
        sessionCookie,
        requestId ? binding.finish(loginCookie, requestId) : undefined,
      );
      await audit(c, {
        time: now,
        event: 'login',
        outcome: 'success',
        subject,
        policy: roles.map((r) => r.name).join(','),
        detail: { assertionId: assertion.id, roles: roles.map((r) => r.name) },
      });
      deps.metrics.samlLogin('success');
      return c.redirect(safeRelayState(params.RelayState), 303);
    }),
  );

  app.post(
    '/saml/logout',
    page(async (c) => {
      const params = await readParams(c);
      const session = await readSession(ctx, c);
      let next = '/saml/slo';
      if (session) {
        if (!csrfMatches(session, params.csrf)) {
          throw new BrokerError(
            'csrf_failed',
            'this logout form is stale: reload the page and log out from it',
          );
        }
        writeCookies(c, await sessions.end(readCookie(c, sessions.cookieName)));
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

  // SAML single logout, both ways. The IdP sends a LogoutRequest here
  // (HTTP-Redirect or HTTP-POST binding): once it is verified, the sessions
  // of that person end and the IdP gets a LogoutResponse. Without one, this
  // is where a logout started here lands, and the page says what is true of
  // this browser.
  const slo = page(async (c) => {
    let input: Parameters<typeof sp.logoutRequest>[0] | undefined;
    let relayState: string | undefined;
    if (c.req.method === 'GET') {
      const query = c.req.query();
      if (query.SAMLRequest) {
        input = { binding: 'redirect', query, rawQuery: new URL(c.req.url).search.slice(1) };
        relayState = query.RelayState;
      }
    } else {
      const params = await readParams(c);
      if (params.SAMLRequest) {
        input = { binding: 'post', samlRequest: params.SAMLRequest };
        relayState = params.RelayState;
      }
    }
    c.header('Cache-Control', 'no-store');
    if (!input) return sloPage(c, (await readSession(ctx, c)) !== undefined);

    const now = nowSeconds(deps.clock);
    let request: LogoutRequest;
    try {
      request = await sp.logoutRequest(input);
    } catch (e) {
      return auditRefusal(c, 'logout.failed', now, e);
    }
    const { subjects, ended } = await endSessionsNamed(c, request);
    await audit(c, {
      time: now,
      event: 'logout.idp',
      outcome: subjects.length ? 'success' : 'denied',
      subject: subjects[0] ?? null,
      ...(subjects.length ? {} : { reason: 'no session matches the NameID of the logout request' }),
      detail: { requestId: request.id, sessions: ended, subjects },
    });
    const url = await sp.logoutResponseUrl(request, relayState, subjects.length > 0);
    if (url) return c.redirect(url, c.req.method === 'GET' ? 302 : 303);
    return sloPage(c, false);
  });

  /**
   * Ends the sessions a verified LogoutRequest names: this browser's session
   * if it is that NameID's, and every session of the person whose email
   * address the NameID is (the usual emailAddress NameID). An opaque NameID
   * arriving without this browser's session cookie names nobody we can find.
   */
  async function endSessionsNamed(
    c: Context,
    request: LogoutRequest,
  ): Promise<{ subjects: string[]; ended: number }> {
    const subjects = new Set<string>();
    let ended = 0;
    const cookie = readCookie(c, sessions.cookieName);
    const own = await sessions.read(cookie);
    if (own && own.data.idp.nameId === request.nameId) {
      subjects.add(own.subject);
      writeCookies(c, await sessions.end(cookie));
      ended = 1; // already deleted, so not counted again below
    }
    // Folded exactly as at login: a NameID a login would refuse (KELVIN SIGN
    // for a `k`) names nobody, rather than the person it resembles.
    const email = looksLikeEmail(request.nameId) ? checkEmail(request.nameId) : undefined;
    if (email?.ok) subjects.add(personSubject(email.email));
    for (const subject of subjects) ended += await deps.store.deleteSubjectSessions(subject);
    return { subjects: [...subjects], ended };
  }

  app.get('/saml/slo', slo);
  app.post('/saml/slo', slo);
  return app;
}

function sloPage(c: Context, stillLoggedIn: boolean): Response {
  return htmlResponse(
    c,
    renderPage(
      stillLoggedIn ? (
        <MessagePage
          title="You are still logged in"
          message="This browser still has a session on this broker. To end it, use Log out on your page."
          action={{ href: '/', label: 'Go to your page' }}
        />
      ) : (
        <MessagePage
          title="You are logged out"
          message="This browser has no session on this broker. Tokens you created stay valid until they expire or you revoke them."
          action={{ href: '/saml/login', label: 'Log in again' }}
        />
      ),
      c.get('pageLabel'),
    ),
    200,
  );
}
