import { BrokerError } from '../shared/errors.js';

const BASE = 'https://return-to.invalid';

/**
 * Where to send the browser after login: a path on this site and nothing
 * else. `//evil.com`, `/\evil.com` (browsers read `\` as `/`), schemes, and
 * control characters are refused rather than "fixed", so a crafted link
 * fails loudly instead of redirecting somewhere surprising.
 */
function localPathProblem(value: string): string | undefined {
  if (value.length > 1000) return 'is longer than 1000 characters';
  if (!value.startsWith('/')) return 'must be a path on this site, starting with /';
  if (value.startsWith('//')) return 'must not start with // (that names another host)';
  if (value.includes('\\')) return 'must not contain a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(value)) return 'must not contain spaces or control characters';
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return 'is not a valid path';
  }
  if (url.origin !== BASE) return 'must stay on this site';
  return undefined;
}

export function checkReturnTo(value: string | undefined): string {
  if (value === undefined || value === '') return '/';
  const problem = localPathProblem(value);
  if (problem) {
    throw new BrokerError(
      'invalid_request',
      `return_to ${problem}: use a local path such as /, or leave it out`,
    );
  }
  return value;
}

/** RelayState comes back through the IdP: re-checked, and a bad one just means `/`. */
export function safeRelayState(value: string | undefined): string {
  return value && !localPathProblem(value) ? value : '/';
}
