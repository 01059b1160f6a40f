import type { AuditEvent, IssuedToken, NewDeviceCode } from '../../src/store/types.js';

// Rows as the core hands them to a store; no Node module, so that tests in workerd use them too.

export const auditRow = (event: string, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  time: 1000,
  event,
  outcome: 'success',
  ...extra,
});

export const tokenRow = (jti: string, extra: Partial<IssuedToken> = {}): IssuedToken => ({
  jti,
  subject: 'user:alice@example.com',
  scopes: ['read:models/acme/m'],
  audience: 'https://hub.test',
  clientId: 'test',
  source: 'web',
  kid: 'k1',
  parentJti: null,
  issuedAt: 1000,
  expiresAt: 5000,
  revokedAt: null,
  tokenSha256: `sha-${jti}`,
  ...extra,
});

/** A device authorization request as /device_authorization stores it, made at t=1000. */
export const deviceRow = (sha: string, extra: Partial<NewDeviceCode> = {}): NewDeviceCode => ({
  deviceCodeSha256: sha,
  userCode: 'BCDFGHJK',
  scopes: ['read:models/acme/m'],
  ttlSeconds: null,
  clientId: null,
  clientAddress: '192.0.2.1',
  userAgent: 'test-cli/1.0',
  createdAt: 1000,
  expiresAt: 1600,
  interval: 5,
  ...extra,
});
