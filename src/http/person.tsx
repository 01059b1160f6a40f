import { Hono, type Context } from 'hono';
import { nowSeconds } from '../shared/clock.js';
import { isBrokerError } from '../shared/errors.js';
import { personGrant } from '../exchange/grants/person.js';
import { readAsked } from '../exchange/request.js';
import { revokeByOwner } from '../exchange/revoke.js';
import type { CompiledRole } from '../policy/roles.js';
import type { Session } from '../sessions/sessions.js';
import { printable } from './html.js';
import { PersonPage, type PersonView } from './pages/person.js';
import { requestInfo } from './respond.js';
import {
  formSession,
  page,
  personalPage,
  readSession,
  rolesOf,
  type SsoContext,
} from './browser.js';

/** The person's page (GET /), its mint form (POST /tokens) and revoke buttons. */
export function personRoutes(ctx: SsoContext): Hono {
  const { deps } = ctx;
  const app = new Hono();

  async function render(
    c: Context,
    session: Session,
    roles: CompiledRole[],
    extra: Pick<PersonView, 'minted' | 'error' | 'form'>,
    status: number,
  ): Promise<Response> {
    const now = nowSeconds(deps.clock);
    const { maxTtl, defaultTtl } = deps.config.tokens;
    const caps = roles.map((r) => r.maxTtl ?? maxTtl);
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
    return personalPage(ctx, c, <PersonPage {...view} />, status);
  }

  app.get(
    '/',
    page(async (c) => {
      const session = await readSession(ctx, c);
      if (!session) return c.redirect('/saml/login?return_to=%2F', 302);
      return render(c, session, rolesOf(ctx, session), {}, 200);
    }),
  );

  app.post(
    '/tokens',
    page(async (c) => {
      const { session, params } = await formSession(ctx, c);
      const form = { scope: printable(params.scope ?? ''), ttl: printable(params.ttl ?? '') };
      const roles = rolesOf(ctx, session);
      try {
        // A form it cannot read (scope syntax, ttl) is shown like a refusal, not recorded as one.
        const asked = readAsked(params);
        const minted = await deps.exchange.run(
          personGrant,
          { asked, subject: session.subject, roles },
          requestInfo(c, deps),
        );
        return await render(c, session, roles, { minted }, 200);
      } catch (e) {
        // Shown on the page with the form as it was sent; the exchange has recorded a refusal.
        if (!isBrokerError(e) || e.status >= 500 || e.code === 'rate_limited') throw e;
        return render(c, session, roles, { error: e.message, form }, e.status);
      }
    }),
  );

  app.post(
    '/tokens/:jti/revoke',
    page(async (c) => {
      const { session } = await formSession(ctx, c);
      await revokeByOwner(session.subject, c.req.param('jti') ?? '', requestInfo(c, deps), deps);
      return c.redirect('/', 303);
    }),
  );
  return app;
}
