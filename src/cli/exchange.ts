import { discover, exchange } from '../client/broker.js';
import { refusalHint } from '../client/claims.js';
import { ClientError } from '../client/errors.js';
import { announcingHttp, type ClientDeps } from '../client/http.js';
import { isoSeconds } from '../client/retry.js';
import { parseBrokerUrl, parseScopeSetting, parseTtlSetting } from '../client/validate.js';
import { escapeForTerminal } from '../shared/terminal.js';
import { CliError, exitCodeOf, hostFor, type CliIO } from './io.js';

export interface ExchangeOptions {
  broker: string;
  oidcTokenEnv: string;
  scope?: string;
  ttl?: string;
}

/**
 * `tokenbroker exchange`: the CI action's exchange for any CI that puts an
 * OIDC token in an environment variable (GitLab `id_tokens`, Buildkite...).
 * The token alone goes to stdout, for `TOKEN=$(tokenbroker exchange ...)`;
 * everything else goes to stderr.
 */
export async function exchangeCommand(
  opts: ExchangeOptions,
  io: CliIO,
  deps: ClientDeps = hostFor(io),
): Promise<void> {
  const oidcToken = io.env[opts.oidcTokenEnv]?.trim();
  try {
    const brokerUrl = parseBrokerUrl(opts.broker, '--broker');
    const scope = parseScopeSetting(opts.scope ?? '', '--scope');
    const ttl = parseTtlSetting(opts.ttl ?? '', '--ttl');
    if (!oidcToken) {
      throw new ClientError(
        'usage',
        `environment variable ${opts.oidcTokenEnv} is empty or not set: in GitLab CI, declare it under the job's id_tokens with aud: ${brokerUrl}`,
      );
    }
    // Retry reasons and refusals carry the broker's words: each is one escaped field.
    const http = announcingHttp(deps, 'tokenbroker-cli', (line) =>
      io.stderr(`tokenbroker: ${escapeForTerminal(line)}\n`),
    );
    const meta = await discover(brokerUrl, http);
    const result = await exchange(
      {
        tokenEndpoint: meta.tokenEndpoint,
        // The CI minted one token for the job; a retry can only resend it.
        subjectToken: async () => oidcToken,
        scope,
        ttl,
        now: deps.now,
      },
      http,
    );
    io.stdout(`${escapeForTerminal(result.accessToken)}\n`);
    const until = result.expiresAt && isoSeconds(result.expiresAt);
    const granted = result.scope ? escapeForTerminal(result.scope) : '(no scope)';
    io.stderr(`tokenbroker: token for ${granted}${until ? `, valid until ${until}` : ''}\n`);
  } catch (e) {
    if (!(e instanceof ClientError)) throw e;
    throw new CliError(
      `${escapeForTerminal(e.message)}${refusalHint(e, oidcToken)}`,
      exitCodeOf(e),
    );
  }
}
