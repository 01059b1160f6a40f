import { discover } from '../client/broker.js';
import { pollForToken, startDeviceAuthorization } from '../client/device.js';
import { parseBrokerUrl, parseScopeSetting, parseTtlSetting } from '../client/validate.js';
import { escapeForTerminal } from '../shared/terminal.js';
import type { StoredLogin } from './credentials.js';
import { setupGit } from './git-setup.js';
import { CliError, type CliIO } from './io.js';
import { LoginProgress } from './login-progress.js';
import {
  asCommand,
  chooseBroker,
  CLIENT_ID,
  iso,
  storedLogin,
  terminalContext,
  timeLeft,
  type TerminalContext,
} from './logins.js';

export interface LoginOptions {
  broker?: string;
  scope?: string;
  ttl?: string;
  /** false with --no-browser */
  browser: boolean;
  setupGit?: boolean;
}

/**
 * `tokenbroker login`: the device flow (RFC 8628) in the terminal. The
 * conversation (the code, the URL, the wait) goes to stderr; the outcome, one
 * line, to stdout.
 */
export async function loginCommand(opts: LoginOptions, io: CliIO): Promise<void> {
  await asCommand(async () => {
    const ctx = terminalContext(io);
    const broker = chooseBroker(opts.broker, io.env, () => ctx.file.read());
    const login = await deviceLogin(
      broker,
      {
        scope: parseScopeSetting(opts.scope ?? '', '--scope'),
        ttl: parseTtlSetting(opts.ttl ?? '', '--ttl'),
        browser: opts.browser,
      },
      ctx,
      io,
    );
    const now = Math.floor(ctx.host.now() / 1000);
    io.stdout(
      `logged in to ${escapeForTerminal(broker)} as ${escapeForTerminal(login.subject)}; ` +
        `scopes ${escapeForTerminal(login.scope || '(none)')}, valid until ${iso(login.expires_at)} ` +
        `(${timeLeft(login.expires_at, now)})\n`,
    );
    if (opts.setupGit) {
      const origin = await setupGit(login, ctx.host);
      io.stdout(
        `git now asks tokenbroker for ${escapeForTerminal(origin)}: git config --global credential.${escapeForTerminal(origin)}.helper tokenbroker\n`,
      );
    }
  });
}

/**
 * Logs in to `broker` by the device flow and stores the token; also what
 * `tokenbroker token` runs when a person is there to approve.
 */
export async function deviceLogin(
  broker: string,
  req: { scope: string | undefined; ttl: string | undefined; browser: boolean },
  ctx: TerminalContext,
  io: CliIO,
): Promise<StoredLogin> {
  parseBrokerUrl(broker, '--broker');
  const say = (line: string) => io.stderr(`${line}\n`);
  const meta = await discover(broker, ctx.http);
  if (!meta.deviceAuthorizationEndpoint) {
    throw new CliError(
      `the broker at ${escapeForTerminal(broker)} offers no device login (its metadata has no device_authorization_endpoint): upgrade it, or take a token from its page`,
    );
  }
  const auth = await startDeviceAuthorization(
    {
      endpoint: meta.deviceAuthorizationEndpoint,
      clientId: CLIENT_ID,
      scope: req.scope,
      ttl: req.ttl,
      now: ctx.host.now,
    },
    ctx.http,
  );
  const now = Math.floor(ctx.host.now() / 1000);
  say(`To log in to ${escapeForTerminal(broker)}, open ${escapeForTerminal(auth.verificationUri)}`);
  say(
    `and enter the code ${escapeForTerminal(auth.userCode)} (it expires in ${timeLeft(Math.floor(auth.expiresAt / 1000), now)}).`,
  );
  const opened =
    req.browser &&
    (await ctx.host.openBrowser(auth.verificationUriComplete ?? auth.verificationUri));
  // RFC 8628 section 5.4: the person approves only the code they see here.
  say(
    opened
      ? 'Opened in your browser: approve only if it shows this same code.'
      : 'Open it in a browser on any device.',
  );
  const progress = new LoginProgress(ctx.host, say);
  let result;
  try {
    result = await pollForToken(
      {
        tokenEndpoint: meta.tokenEndpoint,
        clientId: CLIENT_ID,
        authorization: auth,
        scope: req.scope,
      },
      { http: ctx.http, now: ctx.host.now, sleep: progress.sleep, onWait: progress.onWait },
    );
  } finally {
    progress.done();
  }
  const login = storedLogin(result, ctx.host.now());
  ctx.file.save(broker, login);
  return login;
}
