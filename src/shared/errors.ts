/**
 * The one error type of the broker. Every refusal carries a stable `code` that
 * callers and tests switch on; `src/http/errors.ts` is the one place that turns
 * it into an HTTP status and an RFC 6749 error body.
 *
 * `message` is the public description: it is shown to the caller, so it must
 * say what to do next and must never contain a token or policy content.
 * `detail` is private: it goes to the audit log and the server log only.
 */
export const ERROR_CODES = {
  // Request shape
  invalid_request: { status: 400, oauth: 'invalid_request' },
  body_too_large: { status: 413, oauth: 'invalid_request' },
  unsupported_grant_type: { status: 400, oauth: 'unsupported_grant_type' },
  // RFC 8693 section 2.2.2: an unacceptable subject_token_type is invalid_request.
  unsupported_token_type: { status: 400, oauth: 'invalid_request' },
  // The presented token (CI token or broker token)
  token_invalid: { status: 400, oauth: 'invalid_grant' },
  token_expired: { status: 400, oauth: 'invalid_grant' },
  token_not_yet_valid: { status: 400, oauth: 'invalid_grant' },
  token_revoked: { status: 400, oauth: 'invalid_grant' },
  token_replayed: { status: 400, oauth: 'invalid_grant' },
  token_too_large: { status: 400, oauth: 'invalid_grant' },
  unknown_issuer: { status: 400, oauth: 'invalid_grant' },
  audience_not_accepted: { status: 400, oauth: 'invalid_grant' },
  no_policy_matched: { status: 400, oauth: 'invalid_grant' },
  // The device flow's token request (RFC 8628 section 3.5)
  authorization_pending: { status: 400, oauth: 'authorization_pending' },
  slow_down: { status: 400, oauth: 'slow_down' },
  access_denied: { status: 400, oauth: 'access_denied' },
  expired_token: { status: 400, oauth: 'expired_token' },
  // Scopes and lifetimes
  invalid_scope: { status: 400, oauth: 'invalid_scope' },
  invalid_target: { status: 400, oauth: 'invalid_target' },
  // Callers of /introspect
  invalid_client: { status: 401, oauth: 'invalid_client' },
  // A bearer of /me (RFC 6750 section 3.1)
  invalid_token: { status: 401, oauth: 'invalid_token' },
  rate_limited: { status: 429, oauth: 'temporarily_unavailable' },
  not_found: { status: 404, oauth: 'invalid_request' },
  // Browser SSO (SAML) and the person's page
  saml_invalid: { status: 400, oauth: 'invalid_grant' },
  saml_clock: { status: 400, oauth: 'invalid_grant' },
  login_required: { status: 401, oauth: 'invalid_request' },
  no_access: { status: 403, oauth: 'access_denied' },
  csrf_failed: { status: 403, oauth: 'invalid_request' },
  // SCIM 2.0 provisioning (RFC 7644 section 3.12): each is one scimType
  scim_invalid_filter: { status: 400, oauth: 'invalid_request' },
  scim_invalid_syntax: { status: 400, oauth: 'invalid_request' },
  scim_invalid_path: { status: 400, oauth: 'invalid_request' },
  scim_no_target: { status: 400, oauth: 'invalid_request' },
  scim_invalid_value: { status: 400, oauth: 'invalid_request' },
  scim_mutability: { status: 400, oauth: 'invalid_request' },
  scim_uniqueness: { status: 409, oauth: 'invalid_request' },
  // Ours
  unavailable: { status: 503, oauth: 'temporarily_unavailable' },
  internal: { status: 500, oauth: 'server_error' },
} as const satisfies Record<string, { status: number; oauth: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: ErrorCode;
  /** Private: for the audit row and the log, never for the caller. */
  readonly detail: Record<string, unknown> | undefined;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string> | undefined;
  /** The status, when it is not the code's own: a framework's HTTP error keeps its status. */
  private readonly statusOverride: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      detail?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
      status?: number;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
    this.headers = options.headers;
    this.statusOverride = options.status;
  }

  get status(): number {
    return this.statusOverride ?? ERROR_CODES[this.code].status;
  }

  get oauthError(): string {
    return ERROR_CODES[this.code].oauth;
  }
}

export function isBrokerError(e: unknown): e is BrokerError {
  return e instanceof BrokerError;
}
