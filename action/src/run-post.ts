import { revoke } from '../../src/client/broker.js';
import { errorMessage, STATE, stepHttp, type StepDeps } from './runner.js';

/**
 * The post step: revokes the token at the end of the job, so it dies with
 * the job instead of living to its expiry. A failure here only warns: the
 * job's work is done, and the token still expires on its own.
 */
export async function runPost(deps: StepDeps): Promise<void> {
  const { core } = deps;
  const token = core.getState(STATE.token);
  const endpoint = core.getState(STATE.revocationEndpoint);
  // No state: `revoke: false`, or the main step failed before a token existed.
  if (!token || !endpoint) return;
  // A new process: the runner masks saved secrets, but say it again to be sure.
  core.setSecret(token);
  try {
    await revoke(endpoint, token, stepHttp(deps));
    core.info('tokenbroker: token revoked');
  } catch (e) {
    core.warning(
      `tokenbroker could not revoke the token, so it stays valid until it expires: ${errorMessage(e)}`,
    );
  }
}
