import { Argument, type Command } from 'commander';
import { gitCredentialCommand } from './git-credential.js';
import { inspectCommand } from './inspect.js';
import type { CliIO } from './io.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { tokenCommand } from './token.js';
import { whoamiCommand } from './whoami.js';

/** The commands of a person's terminal: login, token (and token inspect), logout, whoami, and git's helper. */
export function addTerminalCommands(program: Command, io: CliIO): void {
  const brokerOption = [
    '--broker <url>',
    "the broker's base URL (default: TOKENBROKER_URL, else the only broker logged in to)",
  ] as const;

  program
    .command('login')
    .description('log in with the device flow: approve a code in the browser, keep the token here')
    .option(...brokerOption)
    .option('--scope <scopes>', 'space-separated scopes to ask for (default: all your roles grant)')
    .option('--ttl <ttl>', 'lifetime, in seconds or as 15m, 1h (default: the broker default)')
    .option('--no-browser', 'print the URL only; do not open a browser')
    .option('--setup-git', 'make git ask tokenbroker for the workspace (git config --global)')
    .action((opts) => loginCommand(opts, io));

  const token = program
    .command('token')
    .description('print a valid stored token (logging in again in a terminal if needed)')
    .option(...brokerOption)
    .option('--scope <scopes>', 'scopes the token must cover')
    .action((opts) => tokenCommand(opts, io));

  token
    .command('inspect')
    .description(
      "decode a token and verify it against the named broker's keys (never its own iss's)",
    )
    .addArgument(
      new Argument('[token]', 'the token, or - to read it from stdin (default: the stored login)'),
    )
    .option(...brokerOption)
    .action((arg: string | undefined, _opts, cmd: Command) =>
      // optsWithGlobals: `token --broker URL inspect` works as well as `token inspect --broker URL`.
      inspectCommand(arg, cmd.optsWithGlobals(), io),
    );

  program
    .command('logout')
    .description('revoke the stored token at the broker and forget it')
    .option(...brokerOption)
    .action((opts) => logoutCommand(opts, io));

  program
    .command('whoami')
    .description('who the stored token is for, its scopes and expiry, and whether it is active')
    .option(...brokerOption)
    .action((opts) => whoamiCommand(opts, io));

  program
    .command('git-credential')
    .description(
      'git credential helper: git config --global credential.https://hub.example.com.helper tokenbroker',
    )
    .option(...brokerOption)
    .option('--host <host>', "the workspace host (default: the host of the token's audience)")
    .addArgument(new Argument('<action>', 'get | store | erase (sent by git)'))
    .action((action: string, opts) => gitCredentialCommand(action, opts, io));
}
