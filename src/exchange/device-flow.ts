import type { Clock } from '../shared/clock.js';
import { nowSeconds } from '../shared/clock.js';
import type { Config } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import { sha256Hex } from '../shared/crypto.js';
import { showText } from '../shared/show.js';
import type { Params } from '../protocol/oauth.js';
import { parseScopeParam } from '../protocol/scope.js';
import { decideScopes } from '../policy/grants.js';
import { roleGrants, type CompiledRole } from '../policy/roles.js';
import { anyCovers } from '../policy/scope.js';
import type { WrongUserCodes } from '../rate-limit/user-codes.js';
import type { AuditEvent, DeviceCode, Store } from '../store/types.js';
import {
  DEVICE_CODE_LIFETIME,
  POLL_INTERVAL,
  displayUserCode,
  newDeviceCode,
  newUserCode,
  normalizeUserCode,
} from './device-codes.js';
import { decideTtl, type RequestInfo } from './exchange.js';
import { parseTtl } from './request.js';

/** What a device asks for at /device_authorization, checked for shape. */
export interface DeviceRequest {
  scopes: string[] | undefined;
  ttlSeconds: number | undefined;
  clientId: string | undefined;
}

/** The RFC 8628 section 3.2 answer. */
export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** The approver as their session knows them; roles are matched by the caller, on this request. */
export interface Approver {
  subject: string;
  claims: Record<string, string[]>;
  roles: readonly CompiledRole[];
}

/** What the approval page shows of a request, weighed against the person's roles. */
export interface DeviceReview {
  /** Each scope asked (or, when none was, each the roles grant) with the roles that grant it. */
  scopes: Array<{ scope: string; grantedBy: string[] }>;
  /** Every scope is granted: Approve may be offered. */
  approvable: boolean;
  /** What the token would carry and how long it would live, when approvable. */
  approvedScopes?: string[];
  ttlSeconds?: number;
}

/** A client_id is recorded, shown on the page and put in the token: short, printable, no spaces. */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/** Reads the parameters of POST /device_authorization. */
export function readDeviceRequest(params: Params): DeviceRequest {
  if (params.resource !== undefined) {
    throw new BrokerError(
      'invalid_request',
      'resource is not supported by the device flow: name the scopes with scope instead',
    );
  }
  const clientId = params.client_id || undefined;
  if (clientId !== undefined && !CLIENT_ID.test(clientId)) {
    throw new BrokerError(
      'invalid_request',
      `client_id ${showText(clientId)} is not a client id: send 1 to 128 printable ASCII characters without spaces, or leave it out`,
    );
  }
  return { scopes: parseScopeParam(params.scope), ttlSeconds: parseTtl(params.ttl), clientId };
}

/**
 * The device flow's side that is not the token endpoint: a device asks for a
 * code (start), a person finds its request by the user code on the approval
 * page (find, review) and approves or denies it (approve, deny). The token
 * comes later, from the device code grant (grants/device.ts) through the
 * exchange, like every token.
 */
/**
 * Live requests a client address, and the whole broker, may hold at once:
 * anyone may ask, so the rows (about 5 KB at most each, for 10 minutes) must
 * stay bounded whatever `rate_limit` says. A person needs one at a time, an
 * office behind one address a few dozen; 10,000 rows are about 50 MB.
 */
export const LIVE_DEVICE_CODES = { perAddress: 100, everywhere: 10_000 } as const;

export class DeviceFlow {
  constructor(
    private readonly deps: {
      config: Config;
      store: Store;
      clock: Clock;
      wrongCodes: WrongUserCodes;
    },
  ) {}

  async start(req: DeviceRequest, request: RequestInfo): Promise<DeviceAuthorization> {
    const { store, clock, config } = this.deps;
    const now = nowSeconds(clock);
    if (
      (await store.countLiveDeviceCodes(now, request.clientAddress)) >= LIVE_DEVICE_CODES.perAddress
    ) {
      throw new BrokerError(
        'rate_limited',
        `this address already has ${LIVE_DEVICE_CODES.perAddress} device logins waiting: finish or abandon one (codes expire after ${DEVICE_CODE_LIFETIME / 60} minutes), then ask again`,
        { headers: { 'Retry-After': '60' } },
      );
    }
    if ((await store.countLiveDeviceCodes(now)) >= LIVE_DEVICE_CODES.everywhere) {
      throw new BrokerError(
        'unavailable',
        `the broker holds ${LIVE_DEVICE_CODES.everywhere} device logins waiting, its limit: try again in a few minutes, and tell the broker's operator if it lasts`,
        { headers: { 'Retry-After': '60' } },
      );
    }
    const deviceCode = newDeviceCode();
    const deviceCodeSha256 = await sha256Hex(deviceCode);
    // A user code already held by a live request is drawn again: with 2.56e10
    // codes, a second collision in a row means something else is wrong.
    for (let attempt = 0; attempt < 3; attempt++) {
      const userCode = newUserCode();
      const created = await store.createDeviceCode({
        deviceCodeSha256,
        userCode,
        scopes: req.scopes ?? null,
        ttlSeconds: req.ttlSeconds ?? null,
        clientId: req.clientId ?? null,
        clientAddress: request.clientAddress,
        userAgent: request.userAgent,
        createdAt: now,
        expiresAt: now + DEVICE_CODE_LIFETIME,
        interval: POLL_INTERVAL,
      });
      if (!created) continue;
      const shown = displayUserCode(userCode);
      const uri = `${config.issuer}/device`;
      return {
        device_code: deviceCode,
        user_code: shown,
        verification_uri: uri,
        verification_uri_complete: `${uri}?user_code=${shown}`,
        expires_in: DEVICE_CODE_LIFETIME,
        interval: POLL_INTERVAL,
      };
    }
    throw new BrokerError('unavailable', 'no free user code could be drawn: try again in a minute');
  }

  /**
   * The request a typed code names, whatever its state (the page says what
   * an expired or used one means). A code that names none counts against the
   * guessing limit, which is checked before the lookup.
   */
  async find(
    typed: string | undefined,
    who: { subject: string } & RequestInfo,
  ): Promise<DeviceCode> {
    const { store, wrongCodes, clock } = this.deps;
    const userCode = normalizeUserCode(typed);
    if (!userCode) {
      throw new BrokerError(
        'invalid_request',
        'a code is 8 letters, shown as XXXX-XXXX in your terminal: type it as shown (case and the dash do not matter)',
      );
    }
    await wrongCodes.check(who.clientAddress);
    const code = await store.getDeviceCodeByUserCode(userCode);
    if (code) return code;
    const reached = await wrongCodes.miss(who.clientAddress);
    if (reached) {
      // Once per window and limit: the row says guessing happened, not each guess.
      await store.appendAudit({
        time: nowSeconds(clock),
        event: 'device.guess_limit',
        outcome: 'denied',
        source: 'device',
        subject: who.subject,
        clientAddress: who.clientAddress,
        userAgent: who.userAgent,
        reason:
          reached === 'address'
            ? 'too many wrong user codes from this address'
            : 'too many wrong user codes on this broker',
      });
    }
    throw new BrokerError(
      'not_found',
      `no request has the code ${displayUserCode(userCode)}: check it against the code your terminal shows, or start again there (a code lasts ${DEVICE_CODE_LIFETIME / 60} minutes)`,
    );
  }

  /** Which asked scopes the person's roles grant, and what an approval would give. */
  review(code: DeviceCode, roles: readonly CompiledRole[]): DeviceReview {
    const grants = roleGrants(roles);
    const asked = code.scopes ?? [...new Set(grants.flatMap((g) => g.scopes))];
    const scopes = asked.map((scope) => ({
      scope,
      grantedBy: roles.filter((r) => anyCovers(r.grant, scope)).map((r) => r.name),
    }));
    const approvable = scopes.length > 0 && scopes.every((s) => s.grantedBy.length > 0);
    if (!approvable) return { scopes, approvable };
    const decision = decideScopes(grants, { scopes: code.scopes ?? undefined });
    const ttlSeconds = decideTtl(
      code.ttlSeconds ?? undefined,
      this.deps.config.tokens,
      decision.maxTtl,
    );
    return { scopes, approvable, approvedScopes: decision.scopes, ttlSeconds };
  }

  /**
   * Approves a pending request for the person's roles, with its audit row.
   * False when it was no longer pending or live (decided or expired meanwhile).
   */
  async approve(code: DeviceCode, person: Approver, request: RequestInfo): Promise<boolean> {
    const review = this.review(code, person.roles);
    if (!review.approvable || !review.approvedScopes) {
      throw new BrokerError(
        'invalid_scope',
        'this request asks for scopes your roles do not grant, so it cannot be approved: deny it, and ask again in the terminal for scopes you may have',
      );
    }
    const at = nowSeconds(this.deps.clock);
    const audit = this.auditRow('device.approved', code, person, request, at, {
      scopes: review.approvedScopes,
      ttl: review.ttlSeconds,
    });
    return this.deps.store.decideDeviceCode(
      code.deviceCodeSha256,
      {
        status: 'approved',
        subject: person.subject,
        approvedScopes: review.approvedScopes,
        approverClaims: person.claims,
        at,
      },
      audit,
    );
  }

  async deny(code: DeviceCode, person: Approver, request: RequestInfo): Promise<boolean> {
    const at = nowSeconds(this.deps.clock);
    const audit = this.auditRow('device.denied', code, person, request, at, {
      scopes: code.scopes ?? null,
    });
    return this.deps.store.decideDeviceCode(
      code.deviceCodeSha256,
      { status: 'denied', subject: person.subject, at },
      audit,
    );
  }

  /**
   * The person who decided, from their browser; the request as the device
   * made it, in the detail. The device code's SHA-256 ties the row to the
   * poll refusals and the token issued (never the code itself).
   */
  private auditRow(
    event: 'device.approved' | 'device.denied',
    code: DeviceCode,
    person: Approver,
    request: RequestInfo,
    time: number,
    given: { scopes: string[] | null; ttl?: number | undefined },
  ): AuditEvent {
    return {
      time,
      event,
      outcome: event === 'device.approved' ? 'success' : 'denied',
      subject: person.subject,
      source: 'device',
      policy: person.roles.map((r) => r.name).join(',') || null,
      scopes: given.scopes,
      ...request,
      detail: {
        device_code_sha256: code.deviceCodeSha256,
        ...(given.ttl === undefined ? {} : { ttl: given.ttl }),
        requested: {
          at: code.createdAt,
          client_id: code.clientId,
          client_address: code.clientAddress,
          user_agent: code.userAgent,
          scopes: code.scopes,
          ttl: code.ttlSeconds,
        },
      },
    };
  }
}
