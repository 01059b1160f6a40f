import { whoAmI } from '../client/me.js';
import { escapeForTerminal } from '../shared/terminal.js';
import { CliError, type CliIO } from './io.js';
import { asCommand, chooseBroker, iso, terminalContext, timeLeft } from './logins.js';

/**
 * `tokenbroker whoami`: what the stored token says (subject, scopes, expiry,
 * workspace), then whether the broker still holds it active (GET /me). Exit
 * 0 when it does, 1 when the broker says it is not (revoked, expired), 3 when
 * the broker cannot be asked; what the file says is printed in every case.
 */
export async function whoamiCommand(opts: { broker?: string }, io: CliIO): Promise<void> {
  await asCommand(async () => {
    const ctx = terminalContext(io);
    const broker = chooseBroker(opts.broker, io.env, () => ctx.file.read());
    const login = ctx.file.get(broker);
    const at = escapeForTerminal(broker);
    if (!login) {
      throw new CliError(`no login stored for ${at}: run \`tokenbroker login --broker ${at}\``);
    }
    const now = Math.floor(ctx.host.now() / 1000);
    const expired = login.expires_at <= now;
    const audience = Array.isArray(login.audience) ? login.audience.join(' ') : login.audience;
    const line = (key: string, value: string) => io.stdout(`${`${key}:`.padEnd(11)}${value}\n`);
    line('broker', at);
    line('subject', escapeForTerminal(login.subject));
    line('scopes', escapeForTerminal(login.scope || '(none)'));
    line(
      'expires',
      `${iso(login.expires_at)} (${expired ? 'expired' : `in ${timeLeft(login.expires_at, now)}`})`,
    );
    line('workspace', escapeForTerminal(audience || '(none)'));
    const me = await whoAmI(broker, login.access_token, ctx.http);
    if (me.active) {
      line('active', `yes (the broker says so; source ${escapeForTerminal(me.source)})`);
      return;
    }
    line('active', `no: ${escapeForTerminal(me.reason)}`);
    throw new CliError(`the token is no longer active: run \`tokenbroker login --broker ${at}\``);
  });
}
