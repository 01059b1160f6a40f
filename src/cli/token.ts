import { parseScopeSetting } from '../client/validate.js';
import { escapeForTerminal } from '../shared/terminal.js';
import { CliError, type CliIO } from './io.js';
import { deviceLogin } from './login.js';
import { asCommand, chooseBroker, terminalContext, unusable } from './logins.js';

/**
 * `tokenbroker token`: prints the stored token, alone on stdout, for
 * `HF_TOKEN=$(tokenbroker token)`, when it has more than a minute left and
 * covers the scopes asked for. Otherwise a person at the terminal logs in
 * again (on stderr); a script is told to run `tokenbroker login`, since no
 * one is there to approve.
 */
export async function tokenCommand(
  opts: { broker?: string; scope?: string },
  io: CliIO,
): Promise<void> {
  await asCommand(async () => {
    const ctx = terminalContext(io);
    const broker = chooseBroker(opts.broker, io.env, () => ctx.file.read());
    const asked = parseScopeSetting(opts.scope ?? '', '--scope');
    const scopes = asked?.split(' ') ?? [];
    const stored = ctx.file.get(broker);
    const now = () => Math.floor(ctx.host.now() / 1000);
    const why = unusable(broker, stored, scopes, now());
    if (!why) {
      io.stdout(`${stored!.access_token}\n`);
      return;
    }
    const login = `tokenbroker login --broker ${escapeForTerminal(broker)}${asked ? ` --scope '${asked}'` : ''}`;
    if (!ctx.host.interactive) {
      throw new CliError(`${why}: run \`${login}\` in a terminal`);
    }
    io.stderr(`tokenbroker: ${why}; logging in again\n`);
    // The scopes asked for, or those of the login it renews.
    const scope = asked ?? (stored?.scope || undefined);
    const fresh = await deviceLogin(broker, { scope, ttl: undefined, browser: true }, ctx, io);
    const still = unusable(broker, fresh, scopes, now());
    if (still)
      throw new CliError(
        `${still} even after logging in: ask the broker's operator for these scopes`,
      );
    io.stdout(`${fresh.access_token}\n`);
  });
}
