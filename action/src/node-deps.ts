import {
  exportVariable,
  getInput,
  getState,
  info,
  saveState,
  setFailed,
  setOutput,
  setSecret,
  warning,
} from '@actions/core';
import { DEFAULT_RETRY } from '../../src/client/retry.js';
import type { StepDeps } from './runner.js';

/**
 * The real runner: @actions/core, the process's environment, fetch, timers.
 * Named imports (not `import * as core`) let the bundler leave out the parts
 * of @actions/core the action does not use.
 */
export function nodeDeps(): StepDeps {
  return {
    core: {
      getInput: (name) => getInput(name),
      getState,
      setSecret,
      setOutput,
      exportVariable,
      saveState,
      info,
      warning,
      setFailed,
    },
    env: process.env,
    fetch: globalThis.fetch,
    retry: DEFAULT_RETRY,
    now: () => Date.now(),
  };
}
