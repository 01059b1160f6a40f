import type { RetryOptions } from '../../src/client/retry.js';

/**
 * What the steps use of the Actions runner: the part of `@actions/core` they
 * call, plus the process's environment, network and time. The entry points
 * wire the real ones; unit tests pass recording fakes.
 */
export interface Runner {
  getInput(name: string): string;
  getState(name: string): string;
  setSecret(secret: string): void;
  setOutput(name: string, value: string): void;
  exportVariable(name: string, value: string): void;
  saveState(name: string, value: string): void;
  info(message: string): void;
  warning(message: string): void;
  setFailed(message: string): void;
}

export interface StepDeps {
  core: Runner;
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  retry: Omit<RetryOptions, 'onRetry'>;
  now: () => number;
}

/** Keys in GITHUB_STATE, from the main step to the post step. */
export const STATE = {
  token: 'token',
  revocationEndpoint: 'revocation_endpoint',
} as const;

export const USER_AGENT = 'tokenbroker-action';

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
