import { Argument, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/load.js';
import { isBrokerError } from '../shared/errors.js';
import { DatabaseError } from '../node/sqlite/open.js';
import type { CliIO } from './io.js';
import { escapeLines, newProgram, runProgram, terminalSafe } from './run.js';
import { auditCommand, keysCommand, revokeCommand } from './admin.js';
import { tokensListCommand } from './tokens.js';
import { configCheckCommand, serveCommand } from './serve.js';
import { explainCommand } from './explain.js';
import { exchangeCommand } from './exchange.js';
import { addTerminalCommands } from './terminal-commands.js';
import { escapeForTerminal } from '../shared/terminal.js';
import { version } from '../../package.json';

/**
 * The `tokenbroker` CLI. Exit codes (SPEC section 6): 0 ok, 1 refused or
 * invalid, 2 usage, 3 network error or broker unavailable.
 * Every command gets its I/O injected, so tests run it in-process.
 */
export async function main(argv: string[], rawIo: CliIO): Promise<number> {
  const io = terminalSafe(rawIo);
  const program = newProgram(io).version(version, '-V, --version', 'print the version');
  const configOpt = () => new Option('--config <file>', 'config file (default ./tokenbroker.yaml)');

  program
    .command('serve')
    .description('run the broker')
    .addOption(configOpt())
    .option('--host <host>', 'listen address (default from config)')
    .option('--port <port>', 'listen port (default from config)', parsePort)
    .action((opts) => serveCommand(opts, io));

  program
    .command('config')
    .description('work with the config file')
    .command('check')
    .description('validate the config; print a summary or every error with its path')
    .addOption(configOpt())
    .action((opts) => configCheckCommand(opts, io));

  program
    .command('explain')
    .description(
      'why a token would be accepted or refused: every check, and for a CI token every policy condition',
    )
    .addOption(configOpt())
    .requiredOption(
      '--token <jwt>',
      'a CI token or a token this broker issued, or - to read it from stdin',
    )
    .option('--now <time>', 'evaluate as of this time (Unix seconds or ISO 8601), for an old token')
    .action((opts) => explainCommand(opts, io));

  program
    .command('keys')
    .description('signing keys: list, rotate, prune')
    .addArgument(
      new Argument('<action>', 'list | rotate | prune').choices(['list', 'rotate', 'prune']),
    )
    .addOption(configOpt())
    .action((action, opts) => keysCommand(action, opts, io));

  program
    .command('audit')
    .description('read the audit log')
    .addOption(configOpt())
    .option('--since <duration>', 'only events newer than this, e.g. 1h or 7d')
    .option('--subject <subject>', 'only events of this subject')
    .addOption(
      new Option('--outcome <outcome>', 'only this outcome').choices(['success', 'denied']),
    )
    .option('--json', 'one JSON object per line')
    .action((opts) => auditCommand(opts, io));

  program
    .command('tokens')
    .description('the tokens alive now: who holds them, their scopes and expiry')
    .addArgument(new Argument('<action>', 'list').choices(['list']))
    .addOption(configOpt())
    .option('--subject <subject>', 'only tokens of this subject')
    .addOption(
      new Option('--source <source>', 'only tokens from this grant').choices([
        'ci',
        'exchange',
        'web',
        'device',
      ]),
    )
    .option('--json', 'one JSON object per line')
    .action((_action, opts) => tokensListCommand(opts, io));

  program
    .command('revoke')
    .description('revoke one token, or every token of a subject')
    .addOption(configOpt())
    .option('--jti <jti>', 'the token id')
    .option(
      '--subject <subject>',
      'e.g. ci:github:repo:acme/models:ref:refs/heads/main or user:alice@example.com',
    )
    .action((opts) => revokeCommand(opts, io));

  program
    .command('exchange')
    .description("exchange this CI job's OIDC token for a workspace token; prints the token")
    .requiredOption('--broker <url>', "the broker's base URL, e.g. https://broker.example.com")
    .requiredOption('--oidc-token-env <var>', 'environment variable holding the CI OIDC token')
    .option('--scope <scopes>', 'space-separated scopes to ask for (default: all granted)')
    .option('--ttl <ttl>', 'lifetime, in seconds or as 15m, 1h (default: the broker default)')
    .action((opts) => exchangeCommand(opts, io));

  addTerminalCommands(program, io);

  return runProgram(program, argv, io, (e) => {
    if (isBrokerError(e)) {
      // The store's own failures (a full disk, a locked file) carry the operator's version.
      const problem = e.detail?.problem;
      const text = typeof problem === 'string' ? problem : e.message;
      io.stderr(`tokenbroker: ${escapeForTerminal(text)}\n`);
      return 1;
    }
    if (e instanceof DatabaseError) {
      io.stderr(`tokenbroker: ${e.message}\n`);
      return 1;
    }
    if (e instanceof ConfigError) {
      io.stderr(`${escapeLines(e.message)}\n`);
      return 1;
    }
    return undefined;
  });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError('expected a port number (0-65535)');
  }
  return n;
}
