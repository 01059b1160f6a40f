import { discover, exchange } from '../../src/client/broker.js';
import { refusalHint } from '../../src/client/claims.js';
import { isClientError } from '../../src/client/errors.js';
import { isoSeconds } from '../../src/client/retry.js';
import { idTokenRequest, requestIdToken } from './id-token.js';
import { readInputs } from './inputs.js';
import { errorMessage, STATE, stepHttp, type StepDeps } from './runner.js';
import { escapeForTerminal } from '../../src/shared/terminal.js';

/**
 * The main step: inputs, the job's OIDC token, discovery, exchange; then the
 * token is masked before anything else is written, and goes to the outputs,
 * the environment and the state for the post step.
 */
export async function runMain(deps: StepDeps): Promise<void> {
  const { core } = deps;
  let lastIdToken: string | undefined;
  try {
    // Everything that can be checked offline is, before the first request.
    const inputs = readInputs((name) => core.getInput(name));
    const runtime = idTokenRequest(deps.env);
    const http = stepHttp(deps);
    const meta = await discover(inputs.brokerUrl, http);
    const result = await exchange(
      {
        tokenEndpoint: meta.tokenEndpoint,
        // A fresh OIDC token per try: the broker accepts each one once.
        subjectToken: async () => {
          lastIdToken = await requestIdToken(runtime, inputs.audience, http);
          core.setSecret(lastIdToken);
          return lastIdToken;
        },
        scope: inputs.scope,
        ttl: inputs.ttl,
        now: deps.now,
      },
      http,
    );
    const token = result.accessToken;
    // First, before any output, state or log line could carry it.
    core.setSecret(token);

    const expiresAt = result.expiresAt ? isoSeconds(result.expiresAt) : '';
    core.setOutput('token', token);
    core.setOutput('expires-at', expiresAt);
    core.setOutput('scope', result.scope ?? '');
    if (inputs.exportEnv) core.exportVariable(inputs.exportEnv, token);
    if (inputs.revoke && meta.revocationEndpoint) {
      core.saveState(STATE.token, token);
      core.saveState(STATE.revocationEndpoint, meta.revocationEndpoint);
    } else if (inputs.revoke) {
      core.warning(
        'the broker publishes no revocation_endpoint: the token stays valid until it expires',
      );
    }
    core.info(
      `tokenbroker: token for ${escapeForTerminal(result.scope || '(no scope)')}` +
        (expiresAt ? `, valid until ${expiresAt}` : '') +
        (inputs.exportEnv ? `, exported as ${inputs.exportEnv}` : ''),
    );
  } catch (e) {
    let msg = errorMessage(e);
    if (isClientError(e)) msg += refusalHint(e, lastIdToken);
    core.setFailed(`tokenbroker failed: ${msg}`);
  }
}
