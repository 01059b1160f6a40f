import { afterEach, describe, expect, it } from 'vitest';
import { startCi, type CiSetup } from '../helpers/ci.js';
import { closedPortUrl } from '../helpers/cli.js';

// A provider whose keys cannot be fetched at all: the 503 says why, so the
// job's log (and `tokenbroker explain`) tells the operator what to fix
// instead of "try again shortly" for a host that will never answer.

let ci: CiSetup | undefined;
afterEach(async () => {
  await ci?.close();
  ci = undefined;
});

async function exchangeWithProviderAt(issuer: string) {
  ci = await startCi({ providers: { github: { issuer } } });
  const token = await ci.github.github({ iss: issuer });
  const res = await ci.exchange(token);
  expect(res.status).toBe(503);
  return ((await res.json()) as { error_description: string }).error_description;
}

describe("a CI provider's keys that cannot be fetched", () => {
  it('names a host that does not resolve, and says to check the issuer URL', async () => {
    // .invalid never resolves (RFC 6761).
    const said = await exchangeWithProviderAt('https://ci.invalid');
    expect(said).toMatch(
      /^the signing keys of CI provider github could not be fetched \(https:\/\/ci\.invalid\/\.well-known\/openid-configuration could not be reached: its host name ci\.invalid (does not resolve \(DNS\): check the URL|could not be resolved right now \(DNS\))\)/,
    );
  });

  it('names a refused connection', async () => {
    const closed = await closedPortUrl();
    const said = await exchangeWithProviderAt(closed);
    expect(said).toContain(`could not be reached: 127.0.0.1 refused the connection`);
    expect(said).toMatch(
      /the broker's operator must check the provider's issuer URL and the network$/,
    );
  });
});
