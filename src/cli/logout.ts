import { discover, revoke } from '../client/broker.js';
import { ClientError } from '../client/errors.js';
import { escapeForTerminal } from '../shared/terminal.js';
import { CliError, exitCodeOf, type CliIO } from './io.js';
import { asCommand, chooseBroker, iso, terminalContext } from './logins.js';

/**
 * `tokenbroker logout`: revokes the stored token at the broker (RFC 7009),
 * then forgets it. The login is forgotten even when the revocation fails (the
 * user asked for it gone from this machine), and the message says the token
 * stays valid until it expires and how to kill it.
 */
export async function logoutCommand(opts: { broker?: string }, io: CliIO): Promise<void> {
  await asCommand(async () => {
    const ctx = terminalContext(io);
    const broker = chooseBroker(opts.broker, io.env, () => ctx.file.read());
    const at = escapeForTerminal(broker);
    const login = ctx.file.get(broker);
    if (!login) {
      io.stderr(`tokenbroker: no login stored for ${at}: nothing to do\n`);
      return;
    }
    let failure: ClientError | undefined;
    if (login.expires_at > Math.floor(ctx.host.now() / 1000)) {
      try {
        const meta = await discover(broker, ctx.http);
        if (!meta.revocationEndpoint) {
          throw new ClientError('protocol', `the broker at ${broker} names no revocation_endpoint`);
        }
        await revoke(meta.revocationEndpoint, login.access_token, ctx.http);
      } catch (e) {
        if (!(e instanceof ClientError)) throw e;
        failure = e;
      }
    }
    ctx.file.remove(broker);
    if (!failure) {
      io.stdout(`logged out of ${at}: the token is revoked and forgotten\n`);
      return;
    }
    throw new CliError(
      `${escapeForTerminal(failure.message)}\n` +
        `The login is forgotten here, but its token stays valid until ${iso(login.expires_at)}: ` +
        `revoke it on the broker's page (${at}/) when the broker answers again.`,
      exitCodeOf(failure),
    );
  });
}
