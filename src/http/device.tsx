import { Hono, type Context } from 'hono';
import { nowSeconds } from '../shared/clock.js';
import { isBrokerError } from '../shared/errors.js';
import { displayUserCode, normalizeUserCode } from '../exchange/device-codes.js';
import type { Approver } from '../exchange/device-flow.js';
import type { CompiledRole } from '../policy/roles.js';
import type { Session } from '../sessions/sessions.js';
import type { DeviceCode } from '../store/types.js';
import { printable } from './html.js';
import { DevicePage, type DeviceState } from './pages/device.js';
import { requestInfo } from './respond.js';
import {
  formSession,
  page,
  personalPage,
  readSession,
  rolesOf,
  type SsoContext,
} from './browser.js';

/**
 * The device flow's approval page (RFC 8628 section 3.3): GET /device, with
 * the code in the query (verification_uri_complete) or typed into its form,
 * and the CSRF-protected POST /device/approve and /device/deny.
 */
export function deviceRoutes(ctx: SsoContext): Hono {
  const { deps } = ctx;
  const app = new Hono();

  function render(
    c: Context,
    session: Session,
    roles: readonly CompiledRole[],
    state: DeviceState,
    status: number,
  ): Promise<Response> {
    const view = {
      email: session.data.identity.email,
      csrf: session.data.csrf,
      now: nowSeconds(deps.clock),
      roles: roles.map((r) => r.name),
      viewerAddress: requestInfo(c, deps).clientAddress,
      state,
    };
    return personalPage(ctx, c, <DevicePage {...view} />, status);
  }

  /** The request a code names, as its state calls for; a code that names none, on the form. */
  async function show(
    c: Context,
    session: Session,
    roles: readonly CompiledRole[],
    typed: string,
  ): Promise<Response> {
    let code: DeviceCode;
    try {
      code = await deps.device.find(typed, { subject: session.subject, ...requestInfo(c, deps) });
    } catch (e) {
      if (!isBrokerError(e) || (e.code !== 'invalid_request' && e.code !== 'not_found')) throw e;
      const shown = printable(typed.slice(0, 32));
      return render(c, session, roles, { kind: 'enter', typed: shown, error: e.message }, e.status);
    }
    const now = nowSeconds(deps.clock);
    if (isOpen(code, now)) {
      const review = deps.device.review(code, roles);
      return render(c, session, roles, { kind: 'review', code, review }, 200);
    }
    if (now >= code.expiresAt && (code.status === 'pending' || code.status === 'approved')) {
      return render(c, session, roles, { kind: 'expired', code }, 410);
    }
    // Only the person who decided learns how; anyone else is told the code is spent.
    const mine = code.subject === session.subject;
    return render(c, session, roles, { kind: 'decided', code, mine }, mine ? 200 : 410);
  }

  app.get(
    '/device',
    page(async (c) => {
      const typed = c.req.query('user_code');
      const session = await readSession(ctx, c);
      if (!session) {
        // Back here after login with the code kept; only a well-formed one rides along.
        const code = normalizeUserCode(typed);
        const back = code ? `/device?user_code=${displayUserCode(code)}` : '/device';
        return c.redirect(`/saml/login?return_to=${encodeURIComponent(back)}`, 302);
      }
      const roles = rolesOf(ctx, session);
      if (!typed) return render(c, session, roles, { kind: 'enter' }, 200);
      return show(c, session, roles, typed);
    }),
  );

  for (const verdict of ['approve', 'deny'] as const) {
    app.post(
      `/device/${verdict}`,
      page(async (c) => {
        const { session, params } = await formSession(ctx, c);
        const roles = rolesOf(ctx, session);
        const request = requestInfo(c, deps);
        const code = await deps.device.find(params.user_code, {
          subject: session.subject,
          ...request,
        });
        const person: Approver = {
          subject: session.subject,
          claims: session.data.identity.claims,
          roles,
        };
        // A request decided or expired meanwhile is left as it is: the page then says so.
        if (isOpen(code, nowSeconds(deps.clock))) {
          if (verdict === 'deny') {
            await deps.device.deny(code, person, request);
          } else {
            try {
              await deps.device.approve(code, person, request);
            } catch (e) {
              if (!isBrokerError(e) || e.code !== 'invalid_scope') throw e;
              const review = deps.device.review(code, roles);
              const state = { kind: 'review', code, review, error: e.message } as const;
              return render(c, session, roles, state, e.status);
            }
          }
        }
        return c.redirect(`/device?user_code=${displayUserCode(code.userCode)}`, 303);
      }),
    );
  }
  return app;
}

const isOpen = (code: DeviceCode, now: number) => code.status === 'pending' && now < code.expiresAt;
