/**
 * The one error type of the broker client (the CI action and `tokenbroker
 * exchange`). `code` is stable so callers switch on it, never on messages:
 *
 * - `usage`: bad input, found before any network call (exit code 2 in the CLI);
 * - `refused`: the other side answered with a 4xx; retrying cannot help;
 * - `unavailable`: network errors, timeouts and 5xx, still failing after retries;
 * - `protocol`: an answer that is not what the contract says (wrong URL, not a broker).
 *
 * Messages say what to do next and never contain a token.
 */
export type ClientErrorCode = 'usage' | 'refused' | 'unavailable' | 'protocol';

export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly details: { status?: number; oauthError?: string; description?: string } = {},
  ) {
    super(message);
  }
}

export const isClientError = (e: unknown): e is ClientError => e instanceof ClientError;
