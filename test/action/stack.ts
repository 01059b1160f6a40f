import { Hono } from 'hono';
import { ManualClock, nowSeconds } from '../../src/shared/clock.js';
import { startBroker, testConfig, type TestBroker } from '../helpers/broker.js';
import { listen } from '../helpers/listen.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';

/**
 * Everything a job talks to, on loopback: GitHub's OIDC issuer, the Actions
 * runtime's id-token endpoint, and a real broker whose issuer is its own URL.
 * The broker sits behind a switch that can answer the next requests to a path
 * with a canned status, to play an overloaded broker.
 */
export interface Stack {
  issuer: TestIssuer;
  broker: TestBroker;
  brokerUrl: string;
  runtimeUrl: string;
  /** The env a job with `permissions: id-token: write` gets. */
  idTokenEnv: Record<string, string>;
  /** Claims the runtime puts in the job's tokens, over the GitHub defaults. */
  jobClaims: Record<string, unknown>;
  /** Statuses to answer the next requests to a broker path with (e.g. '/token': [503, 503]). */
  faults: Record<string, number[]>;
  /** Requests that reached each broker path (faults included). */
  hits: Record<string, number>;
  /** Audiences the runtime was asked for, one per token served. */
  audiencesAsked: string[];
  /** Requests the runtime refused for a bad bearer. */
  badBearers: number;
  /** A GitHub-shaped CI token minted at the broker's time. */
  ciToken(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export const REQUEST_TOKEN = 'runtime-request-token-for-tests';

export async function startStack(): Promise<Stack> {
  const issuer = await startTestIssuer();
  // Bound once the broker exists: its issuer must be the front's URL.
  const late: { broker?: TestBroker } = {};
  const faults: Record<string, number[]> = {};
  const hits: Record<string, number> = {};
  const front = await listen((req) => {
    const path = new URL(req.url).pathname;
    hits[path] = (hits[path] ?? 0) + 1;
    const status = faults[path]?.shift();
    if (status !== undefined) {
      // Retry-After: 0 is a real answer that also keeps the test from waiting.
      return Response.json(
        { error: 'temporarily_unavailable', error_description: 'injected by the test' },
        { status, headers: status >= 500 ? { 'Retry-After': '0' } : {} },
      );
    }
    return late.broker!.app.fetch(req);
  });
  const broker = await startBroker({
    clock: new ManualClock(Date.now()),
    config: await testConfig({
      issuer: front.url,
      ci: {
        providers: [{ name: 'github', issuer: issuer.url, kind: 'github', audiences: [front.url] }],
        policies: [
          {
            name: 'models',
            provider: 'github',
            match: { repository: 'acme/models', repository_id: '860122172' },
            grant: ['write:models/acme/*'],
          },
        ],
      },
    }),
  });
  late.broker = broker;

  const stack: Stack = {
    issuer,
    broker,
    brokerUrl: front.url,
    runtimeUrl: '',
    idTokenEnv: {},
    jobClaims: {},
    faults,
    hits,
    audiencesAsked: [],
    badBearers: 0,
    // On the broker's clock: one clock for the tokens and the broker that checks them.
    ciToken: (claims) => issuer.github(claims, { now: nowSeconds(broker.clock) }),
    close: async () => {},
  };

  // The runtime's protocol: GET <url>&audience=<aud>, bearer request token, {"value": jwt}.
  const runtime = new Hono();
  runtime.get('/_apis/distributedtask/idtoken', async (c) => {
    if (c.req.header('authorization') !== `Bearer ${REQUEST_TOKEN}`) {
      stack.badBearers++;
      return c.json({ message: 'bad bearer' }, 401);
    }
    const audience = c.req.query('audience');
    if (c.req.query('api-version') !== '2.0' || !audience) {
      return c.json({ message: 'api-version and audience are required' }, 400);
    }
    stack.audiencesAsked.push(audience);
    return c.json({ value: await stack.ciToken({ aud: audience, ...stack.jobClaims }) });
  });
  const runtimeServer = await listen(runtime.fetch);
  stack.runtimeUrl = runtimeServer.url;
  stack.idTokenEnv = {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${runtimeServer.url}/_apis/distributedtask/idtoken?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
  };
  stack.close = async () => {
    await runtimeServer.close();
    await front.close();
    await broker.cleanup();
    await issuer.close();
  };
  return stack;
}
