import { Hono, type Context } from 'hono';
import { nowSeconds } from '../clock.js';
import type { Role } from '../config/compile.js';
import { BrokerError, isBrokerError } from '../errors.js';
import { decideTtl, parseTtl } from '../exchange/request.js';
import { decideScopes } from '../policy/grants.js';
import { parseScopeParam } from '../policy/scope.js';
import { matchRoles, roleGrants } from '../saml/identity.js';
import { csrfMatches, type Session } from '../sessions/sessions.js';
import { htmlResponse, printable } from './html.js';
import { renderPage } from './pages/layout.js';
import { PersonPage, type PersonView } from './pages/person.js';
import { readParams } from './params.js';
import { requestInfo } from './respond.js';
import { page, readSession, requireSession, type SsoContext } from './browser.js';

/** The person's page (GET /), its mint form (POST /tokens) and revoke buttons. */
export function personRoutes(ctx: SsoContext): Hono {
  const { deps } = ctx;
  const app = new Hono();

  /** Roles are matched again on every request, so a config change applies at once. */
  function rolesOf(session: Session) {
    const roles = matchRoles(ctx.sso.roles, session.data.identity.claims);
    if (roles.length === 0) {
      throw new BrokerError(
        'no_access',
        'no role of this broker (sso.roles) includes you any more: ask your administrator for access',
      );
    }
    return roles;
  }

  async function render(
    c: Context,
    session: Session,
    roles: Role[],
    extra: Pick<PersonView, 'minted' | 'error' | 'form'>,
    status: number,
  ): Promise<Response> {
    const now = nowSeconds(deps.clock);
    const { maxTtl, defaultTtl } = deps.config.tokens;
    const caps = roles.map((r) => r.maxTtl ?? maxTtl);
    const idp = await ctx.sp.idpSettings();
    const view: PersonView = {
      email: session.data.identity.email,
      name: session.data.identity.name,
      roles: roles.map((r) => r.name),
      scopes: [...new Set(roles.flatMap((r) => r.grant))],
      defaultTtl: Math.min(defaultTtl, ...caps),
      maxTtl: Math.min(maxTtl, Math.max(...caps)),
      tokens: await deps.store.listTokens({ subject: session.subject, activeAt: now, limit: 100 }),
      csrf: session.data.csrf,
      now,
      ...extra,
    };
    return htmlResponse(c, renderPage(<PersonPage {...view} />), status, {
      formTargets: idp.sloUrl ? [new URL(idp.sloUrl).origin] : [],
    });
  }

  async function formSession(
    c: Context,
  ): Promise<{ session: Session; params: Record<string, string> }> {
    const params = await readParams(c);
    const session = await requireSession(ctx, c);
    if (!csrfMatches(session, params.csrf)) {
      throw new BrokerError(
        'csrf_failed',
        'this form did not come from your page (missing or stale CSRF field): reload the page and try again',
      );
    }
    return { session, params };
  }

  app.get(
    '/',
    page(async (c) => {
      const session = await readSession(ctx, c);
      if (!session) return c.redirect('/saml/login?return_to=%2F', 302);
      return render(c, session, rolesOf(session), {}, 200);
    }),
  );

  app.post(
    '/tokens',
    page(async (c) => {
      const { session, params } = await formSession(c);
      // A person mints under the same per-subject limit as a CI job or a narrowing.
      await deps.rateLimits?.subject(session.subject);
      const form = { scope: printable(params.scope ?? ''), ttl: printable(params.ttl ?? '') };
      const roles = rolesOf(session);
      const info = requestInfo(c, deps);
      let scopes: string[] | undefined;
      try {
        scopes = parseScopeParam(params.scope);
        const decision = decideScopes(roleGrants(roles), { scopes });
        const ttl = decideTtl(parseTtl(params.ttl), deps.config.tokens, decision.maxTtl);
        const minted = await deps.minter.mint({
          subject: session.subject,
          scopes: decision.scopes,
          ttlSeconds: ttl,
          clientId: 'web',
          source: 'web',
          audit: { source: 'web', policy: decision.sources.join(','), ...info },
        });
        return await render(c, session, roles, { minted }, 200);
      } catch (e) {
        if (!isBrokerError(e) || e.status >= 500) throw e;
        await deps.store.appendAudit({
          time: nowSeconds(deps.clock),
          event: 'token.denied',
          outcome: 'denied',
          subject: session.subject,
          source: 'web',
          scopes: scopes ?? null,
          reason: `${e.code}: ${e.message}`,
          ...info,
        });
        return render(c, session, roles, { error: e.message, form }, e.status);
      }
    }),
  );

  app.post(
    '/tokens/:jti/revoke',
    page(async (c) => {
      const { session } = await formSession(c);
      const jti = c.req.param('jti') ?? '';
      const row = await deps.store.getToken(jti);
      if (!row || row.subject !== session.subject) {
        throw new BrokerError(
          'not_found',
          'you have no such token: it may have expired or been revoked already; reload your page to see your active tokens',
        );
      }
      const now = nowSeconds(deps.clock);
      await deps.store.revokeToken(jti, now, {
        time: now,
        event: 'token.revoked',
        outcome: 'success',
        subject: session.subject,
        source: 'web',
        scopes: row.scopes,
        reason: 'revoked by its owner on the web page',
        tokenSha256: row.tokenSha256,
        jti,
        ...requestInfo(c, deps),
      });
      return c.redirect('/', 303);
    }),
  );
  return app;
}
