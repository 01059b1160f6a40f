import { createTestIssuer, type TestIssuer } from './issuer-core.js';
import { serveFetch } from './runtime.js';

export { githubClaims, gitlabClaims, type MintOptions, type TestIssuer } from './issuer-core.js';

/** A real OIDC issuer where the broker reaches it (a loopback port on Node): discovery and JWKS over HTTP. */
export async function startTestIssuer(options: { path?: string } = {}): Promise<TestIssuer> {
  const issuer = await createTestIssuer(options);
  const server = await serveFetch(issuer.fetch);
  issuer.setUrl(server.url);
  issuer.close = server.close;
  return issuer;
}
