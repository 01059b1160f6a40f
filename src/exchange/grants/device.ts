import { nowSeconds } from '../../shared/clock.js';
import { BrokerError } from '../../shared/errors.js';
import { sha256Hex } from '../../shared/crypto.js';
import { showText } from '../../shared/show.js';
import { matchRoles, roleGrants } from '../../policy/roles.js';
import { displayUserCode } from '../device-codes.js';
import type { Grant, GrantInput, Verified } from '../grant.js';

/** The device code grant's request (RFC 8628 section 3.4): the device code is the proof. */
export interface DeviceCodeInput extends GrantInput {
  /** The device code: its SHA-256 finds the request and goes into any refusal's row. */
  subjectToken: string;
  clientId: string | undefined;
}

interface DeviceVerified extends Verified {
  /** The approver's IdP claims, recorded at approval: their roles are matched on them now. */
  claims: Record<string, string[]>;
}

/**
 * A device redeems the code a person approved. Until then each poll gets
 * `authorization_pending` (or `slow_down`, polling faster than its interval,
 * which grows by 5 s each time), and after a decision `access_denied` or the
 * one token, issued in the transaction that marks the code redeemed. The
 * token is the approver's (`user:<email>`), for the scopes they approved,
 * as long as their roles still grant them now.
 */
export const deviceGrant: Grant<DeviceCodeInput, DeviceVerified> = {
  source: 'device',
  names: 'policies',
  reader: 'person',

  async verify(input, deps) {
    const now = nowSeconds(deps.clock);
    const deviceCodeSha256 = await sha256Hex(input.subjectToken);
    const polled = await deps.store.pollDeviceCode(deviceCodeSha256, now);
    if (!polled) {
      throw new BrokerError(
        'token_invalid',
        'device_code is not one this broker issued, or it expired long ago: start the device flow again (tokenbroker login)',
      );
    }
    const { code, tooFast } = polled;
    if ((code.clientId ?? undefined) !== input.clientId) {
      throw new BrokerError(
        'token_invalid',
        `device_code was issued ${code.clientId === null ? 'without a client_id' : `to client_id ${showText(code.clientId)}`}: send the same client_id as to /device_authorization`,
      );
    }
    if (code.status === 'redeemed') throw deviceGrant.replayed!();
    if (now >= code.expiresAt) {
      throw new BrokerError(
        'expired_token',
        'the device code has expired (it lasts 10 minutes): start again (tokenbroker login) and approve the new code in time',
      );
    }
    if (code.status === 'denied') {
      throw new BrokerError(
        'access_denied',
        'the request was denied on the approval page: start again (tokenbroker login) if that was a mistake',
      );
    }
    if (code.status === 'pending') {
      if (tooFast) {
        throw new BrokerError(
          'slow_down',
          `polling too fast: wait at least ${code.interval}s between requests for this device code`,
        );
      }
      throw new BrokerError(
        'authorization_pending',
        `waiting for a person to approve code ${displayUserCode(code.userCode)} at ${deps.config.issuer}/device: poll again in ${code.interval}s`,
      );
    }
    return {
      subject: code.subject!,
      clientId: code.clientId ?? 'device',
      asked: {
        scopes: code.approvedScopes!,
        resource: undefined,
        ttlSeconds: code.ttlSeconds ?? undefined,
      },
      detail: { device_code_sha256: deviceCodeSha256, approved_at: code.decidedAt },
      once: { deviceCodeSha256, at: now },
      claims: code.approverClaims ?? {},
    };
  },

  entitle({ subject, claims }, deps) {
    // Matched again now: a person who lost their role since approving gets nothing.
    const roles = matchRoles(deps.trust.roles, claims);
    if (roles.length === 0) {
      throw new BrokerError(
        'access_denied',
        `${subject} approved this request, but no role of this broker (sso.roles) includes them any more: they must ask an administrator for access, then start again`,
      );
    }
    return roleGrants(roles);
  },

  replayed() {
    return new BrokerError(
      'token_replayed',
      'this device code was already used: an approval gives one token; start again (tokenbroker login) for another',
    );
  },
};
