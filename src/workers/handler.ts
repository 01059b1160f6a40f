import { pruneExpired } from '../app.js';
import { systemClock } from '../shared/clock.js';
import { BrokerError } from '../shared/errors.js';
import { jsonLogger } from '../shared/log.js';
import { buildBroker, type WorkerBroker, type WorkerEnv } from './build.js';
import { pruneRateLimits } from './d1-limiter.js';

/** The part of Workers' ExecutionContext used here. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

const logger = jsonLogger();

/**
 * The broker this isolate built, with what it was built from. Workers hand
 * every request the same env object; an env that differs (another test, a
 * redeploy in place) is compared by its bindings and text, and a changed one
 * builds a new broker. A failed build is not kept: the next request tries
 * again, so fixing a secret needs no redeploy of the code.
 */
let built: { env: WorkerEnv; inputs: unknown[]; broker: Promise<WorkerBroker> } | undefined;

function inputsOf(env: WorkerEnv): unknown[] {
  return Object.keys(env)
    .sort()
    .flatMap((k) => [k, env[k]]);
}

const sameInputs = (a: unknown[], b: unknown[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

function brokerFor(env: WorkerEnv): Promise<WorkerBroker> {
  if (built && built.env !== env) {
    const inputs = inputsOf(env);
    if (sameInputs(built.inputs, inputs)) built.env = env;
    else built = undefined;
  }
  if (!built) {
    const attempt = {
      env,
      inputs: inputsOf(env),
      broker: buildBroker(env, logger),
    };
    built = attempt;
    attempt.broker.catch(() => {
      if (built === attempt) built = undefined;
    });
  }
  return built.broker;
}

/**
 * A broker that cannot start answers every request 503 with an OAuth error
 * saying what to fix (never a stack trace, never a 500), and logs the same.
 */
function notConfigured(e: unknown): Response {
  const message =
    e instanceof BrokerError
      ? e.message
      : 'the broker could not start: an internal error, logged in the Worker\'s logs ("wrangler tail")';
  logger.error('the broker cannot start', {
    problem: message,
    ...(e instanceof BrokerError ? {} : { error: e }),
  });
  return new Response(
    JSON.stringify({ error: 'temporarily_unavailable', error_description: message }),
    {
      status: 503,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    },
  );
}

/** The Workers entry: wrangler.toml's `main` (src/worker.ts) exports it. */
export const workerHandler = {
  async fetch(request: Request, env: WorkerEnv, ctx: WaitUntil): Promise<Response> {
    let broker: WorkerBroker;
    try {
      broker = await brokerFor(env);
    } catch (e) {
      return notConfigured(e);
    }
    return broker.app.fetch(request, env, ctx as never);
  },

  /** The Cron Trigger: expired rows of the store, and rate-limit windows that have closed. */
  scheduled(_controller: unknown, env: WorkerEnv, ctx: WaitUntil): void {
    ctx.waitUntil(
      (async () => {
        let broker: WorkerBroker;
        try {
          broker = await brokerFor(env);
        } catch (e) {
          notConfigured(e);
          return;
        }
        const { store, config, db } = broker;
        await pruneExpired({ store, config, clock: systemClock, logger }, async (nowMs) => ({
          rateLimitWindows: await pruneRateLimits(db, nowMs),
        }));
      })(),
    );
  },
};
