import { announcingHttp, type ClientDeps, type HttpDeps } from '../../src/client/http.js';
import { escapeForTerminal } from '../../src/shared/terminal.js';

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

export interface StepDeps extends ClientDeps {
  core: Runner;
  env: Record<string, string | undefined>;
}

/** Keys in GITHUB_STATE, from the main step to the post step. */
export const STATE = {
  token: 'token',
  revocationEndpoint: 'revocation_endpoint',
} as const;

/** The steps' HTTP: each retry is announced in the step's log. */
export const stepHttp = (deps: StepDeps): HttpDeps =>
  announcingHttp(deps, 'tokenbroker-action', (line) => deps.core.info(escapeForTerminal(line)));

/**
 * An error's message for the step's log. It can carry the broker's words, and
 * @actions/core escapes only %, CR and LF: terminal and bidi controls are made
 * visible here, as the CLI does.
 */
export function errorMessage(e: unknown): string {
  return escapeForTerminal(e instanceof Error ? e.message : String(e), { multiline: true });
}
