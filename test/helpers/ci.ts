import { ManualClock } from '../../src/shared/clock.js';
import type { CryptoBackend } from '../../src/jws/backend.js';
import type { Logger } from '../../src/shared/log.js';
import { form, startBroker, testConfig, EXCHANGE, type TestBroker } from './broker.js';
import { startTestIssuer, type TestIssuer } from './oidc-issuer.js';

export interface CiSetup {
  broker: TestBroker;
  github: TestIssuer;
  gitlab: TestIssuer;
  /** POSTs a token exchange of a CI token to /token (form-encoded). */
  exchange(token: string, extra?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** The broker's default trust policies in these tests. */
export const CI_POLICIES = [
  {
    name: 'models-release',
    provider: 'github',
    match: {
      repository: 'acme/models',
      repository_id: '860122172',
      ref: ['refs/heads/main', 'refs/tags/v*'],
      job_workflow_ref: 'acme/models/.github/workflows/release.yml@**',
    },
    grant: ['write:models/acme/*', 'read:datasets/acme/**'],
    max_ttl: '30m',
  },
  {
    name: 'acme-readers',
    provider: 'github',
    match: { repository: 'acme/*', ref: 'refs/heads/main' },
    grant: ['read:models/acme/**'],
  },
  {
    name: 'gitlab-models',
    provider: 'gitlab',
    match: { project_path: 'acme/models', ref_protected: 'true', ref_type: 'branch' },
    grant: ['write:models/acme/gl-*'],
  },
];

export async function startCi(
  options: {
    providers?: Record<string, unknown>;
    policies?: unknown[];
    extra?: Record<string, unknown>;
    logger?: Logger;
    crypto?: CryptoBackend;
  } = {},
): Promise<CiSetup> {
  const github = await startTestIssuer();
  const gitlab = await startTestIssuer();
  const config = await testConfig({
    ci: {
      providers: [
        {
          name: 'github',
          issuer: github.url,
          kind: 'github',
          audiences: ['https://broker.test'],
          ...(options.providers?.github as object),
        },
        {
          name: 'gitlab',
          issuer: gitlab.url,
          kind: 'gitlab',
          audiences: ['https://broker.test'],
          ...(options.providers?.gitlab as object),
        },
      ],
      policies: options.policies ?? CI_POLICIES,
    },
    ...options.extra,
  });
  const broker = await startBroker({
    config,
    clock: new ManualClock(Date.now()),
    logger: options.logger,
    crypto: options.crypto,
  });
  return {
    broker,
    github,
    gitlab,
    exchange: async (token, extra = {}) =>
      broker.app.request(
        '/token',
        form({
          grant_type: EXCHANGE.grant_type,
          subject_token: token,
          subject_token_type: EXCHANGE.idToken,
          ...extra,
        }),
      ),
    async close() {
      await broker.cleanup();
      await github.close();
      await gitlab.close();
    },
  };
}
