import { Hono, type Context } from 'hono';
import { nowSeconds } from '../shared/clock.js';
import { BrokerError, isBrokerError } from '../shared/errors.js';
import { revokeByAdmin } from '../exchange/revoke.js';
import type { Session } from '../sessions/sessions.js';
import { readAdminSearch, type AdminSearch } from './admin-search.js';
import { printable } from './html.js';
import { AdminPage } from './pages/admin.js';
import { requestInfo } from './respond.js';
import {
  formSession,
  page,
  personalPage,
  readSession,
  rolesOf,
  type SsoContext,
} from './browser.js';

/** Each list of the page holds at most this many rows, the newest. */
const LIMIT = 200;
const BACK = { href: '/admin', label: 'Back to the admin page' };

/**
 * The operator's page (GET /admin) and its two buttons: revoke any token,
 * end every session of a subject. Only for people a role with `admin: true`
 * includes, checked on every request against the roles as configured now.
 */
export function adminRoutes(ctx: SsoContext): Hono {
  const { deps } = ctx;
  const app = new Hono();

  app.get(
    '/admin',
    page(async (c) => {
      const session = await readSession(ctx, c);
      if (!session) return c.redirect('/saml/login?return_to=%2Fadmin', 302);
      requireAdmin(ctx, session);
      const read = readAdminSearch(
        {
          subject: c.req.query('subject'),
          event: c.req.query('event'),
          since: c.req.query('since'),
        },
        nowSeconds(deps.clock),
      );
      return render(c, session, read.search, read.error);
    }),
  );

  app.post(
    '/admin/tokens/:jti/revoke',
    page(async (c) => {
      const { session } = await adminForm(ctx, c);
      const jti = c.req.param('jti') ?? '';
      await revokeByAdmin(session.subject, jti, requestInfo(c, deps), deps);
      return c.redirect('/admin', 303);
    }),
  );

  app.post(
    '/admin/subjects/end-sessions',
    page(async (c) => {
      const { session, params } = await adminForm(ctx, c);
      const subject = params.subject ?? '';
      if (subject === '' || subject.length > 1024) {
        throw new BrokerError(
          'invalid_request',
          'the form names no subject whose sessions to end: reload the admin page and use its buttons',
          { detail: { pageAction: BACK } },
        );
      }
      // The sessions end with their audit row, in one transaction.
      await deps.store.deleteSubjectSessions(subject, {
        ...requestInfo(c, deps),
        time: nowSeconds(deps.clock),
        event: 'session.ended',
        outcome: 'success',
        source: 'admin',
        subject,
        reason: 'sessions ended by an administrator on /admin',
        detail: { actor: session.subject },
      });
      return c.redirect('/admin', 303);
    }),
  );

  async function render(
    c: Context,
    session: Session,
    search: AdminSearch,
    error: string | undefined,
  ): Promise<Response> {
    const now = nowSeconds(deps.clock);
    const { store } = deps;
    const subject = search.subject || undefined;
    const since = search.sinceSeconds;
    const seenAfter = now - ctx.sso.sessionIdleTimeout;
    const [tokens, sessions, denials, audit] = await Promise.all([
      store.listTokens({ subject, activeAt: now, limit: LIMIT }),
      store.listLiveSessions({ now, seenAfter, subject, limit: LIMIT }),
      store.queryAudit({ subject, since, outcome: 'denied', newestFirst: true, limit: LIMIT }),
      store.queryAudit({
        subject,
        since,
        event: search.event || undefined,
        newestFirst: true,
        limit: LIMIT,
      }),
    ]);
    const view = {
      email: session.data.identity.email,
      csrf: session.data.csrf,
      now,
      search: {
        subject: printable(search.subject),
        event: printable(search.event),
        since: printable(search.since),
      },
      error,
      tokens,
      sessions,
      denials,
      audit,
      limit: LIMIT,
    };
    return personalPage(ctx, c, <AdminPage {...view} />, error ? 400 : 200);
  }

  return app;
}

/** Refuses anyone no admin role includes, with a page that says why and where to go. */
function requireAdmin(ctx: SsoContext, session: Session): void {
  if (rolesOf(ctx, session).some((r) => r.admin)) return;
  throw new BrokerError(
    'no_access',
    "this page is for the broker's administrators: none of your roles (sso.roles) has admin: true. Ask your administrator if you need it; your own tokens are on your page",
    { detail: { pageAction: { href: '/', label: 'Go to your page' } } },
  );
}

/** A form posted from the admin page: a session whose role is admin, and the page's CSRF field. */
async function adminForm(
  ctx: SsoContext,
  c: Context,
): Promise<{ session: Session; params: Record<string, string> }> {
  try {
    const form = await formSession(ctx, c);
    requireAdmin(ctx, form.session);
    return form;
  } catch (e) {
    // The usual "reload your page" leads to /, not to the page the form came from.
    if (isBrokerError(e) && e.code === 'csrf_failed') {
      throw new BrokerError('csrf_failed', e.message, { detail: { pageAction: BACK } });
    }
    throw e;
  }
}
