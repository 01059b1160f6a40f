import { parseBrokerUrl } from '../client/validate.js';
import { escapeForTerminal } from '../shared/terminal.js';
import { isLoopbackHost } from '../shared/url.js';
import type { StoredLogin } from './credentials.js';
import { CliError, type CliIO } from './io.js';
import { asCommand, iso, MIN_SECONDS_LEFT, terminalContext, workspaceOrigins } from './logins.js';

/**
 * `tokenbroker git-credential get|store|erase`: git's credential helper
 * protocol (git-credential(1)). Git writes `key=value` lines and a blank line
 * on stdin and reads `key=value` lines from stdout, so stdout carries the
 * answer and nothing else, and nothing here ever asks the person anything:
 * without a usable login it says so on stderr (git shows it) and answers
 * nothing, and git asks its next helper or the person.
 *
 * - `get`: for the workspace host (`--host`, else the host of a stored
 *   token's audience), over https (or http on loopback), the stored token as
 *   the password. The username is `tokenbroker` (or the one git already has):
 *   the workspace knows who the token is for from its `sub`, a fixed name keeps
 *   git's per-user matching stable across logins, and a subject such as
 *   `ci:github:repo:acme/x:ref:...` would be a strange user name in git's
 *   prompts and URLs.
 * - `store`: nothing; the token is already kept, by `tokenbroker login`.
 * - `erase` (after the workspace refused the password): tokenbroker keeps no
 *   token of its own for git, no cache: each `get` reads the login's token
 *   from the credentials file. So there is nothing cached to forget, and the
 *   login is never forgotten here (a 403 on one repository says nothing about
 *   the login, and only a terminal can log in again). It says on stderr how to
 *   check the login. Copies git itself caches (credential-cache, a keychain)
 *   get the same `erase` from git.
 * - Any other action is ignored, as git-credential(1) asks of helpers.
 */
export async function gitCredentialCommand(
  action: string,
  opts: { broker?: string; host?: string },
  io: CliIO,
): Promise<void> {
  if (action !== 'get' && action !== 'erase') return;
  await asCommand(async () => {
    const request = parseRequest(await io.readStdin({ untilBlankLine: true }));
    const target = requestOrigin(request);
    if (!target) return;
    const ctx = terminalContext(io);
    const named = opts.broker ?? io.env.TOKENBROKER_URL;
    const broker =
      named === undefined
        ? undefined
        : parseBrokerUrl(named, opts.broker === undefined ? 'TOKENBROKER_URL' : '--broker');
    const { brokers } = ctx.file.read();
    const candidates: [string, StoredLogin | undefined][] = broker
      ? [[broker, Object.hasOwn(brokers, broker) ? brokers[broker] : undefined]]
      : Object.entries(brokers);
    const host = opts.host === undefined ? undefined : hostOf(target.protocol, opts.host);
    if (opts.host !== undefined && host === undefined) {
      throw new CliError(
        `--host ${JSON.stringify(escapeForTerminal(opts.host))} is not a host name: give it as hub.example.com or hub.example.com:8443`,
        2,
      );
    }
    const forTarget = candidates.filter(([, login]) =>
      login === undefined ? host === target.host : servesTarget(login, host, target),
    );
    // `--host` names the git host instead of the token's audience, so every login would serve it:
    // which broker's token goes there must then be said, or one broker's token reaches another's host.
    if (host !== undefined && broker === undefined && forTarget.length > 1) {
      throw new CliError(
        `--host ${escapeForTerminal(target.host)} is served by ${forTarget.length} logins (${forTarget.map(([url]) => escapeForTerminal(url)).join(', ')}): add --broker URL to the helper's configuration, so only that broker's token goes to this host`,
      );
    }
    const now = Math.floor(ctx.host.now() / 1000);
    const usable = forTarget
      .filter(([, login]) => login !== undefined && login.expires_at - now > MIN_SECONDS_LEFT)
      .sort(([, a], [, b]) => b!.expires_at - a!.expires_at);
    const shown = escapeForTerminal(target.host);
    if (action === 'erase') {
      const ours = forTarget.find(([, login]) => login?.access_token === request.password);
      if (ours) {
        io.stderr(
          `tokenbroker: ${shown} refused the token of your login to ${escapeForTerminal(ours[0])}; ` +
            'the login is kept: `tokenbroker whoami` says whether the broker still holds it active, `tokenbroker login` gets a new one\n',
        );
      }
      return;
    }
    const [best] = usable;
    if (best) {
      const [, login] = best;
      const username = request.username || 'tokenbroker';
      io.stdout(
        `username=${username}\npassword=${login!.access_token}\npassword_expiry_utc=${login!.expires_at}\n`,
      );
      return;
    }
    // Nothing usable. Say so when the host is the workspace's, or when it cannot be told
    // (no login at all): git asks a helper configured for this URL, so it is most likely ours.
    const [stale] = forTarget;
    if (stale || candidates.every(([, login]) => login === undefined)) {
      const url = stale?.[0] ?? broker;
      const loginHint = `tokenbroker login${url ? ` --broker ${escapeForTerminal(url)}` : ' --broker URL'}`;
      const state = stale?.[1]
        ? `the login to ${escapeForTerminal(stale[0])} for ${shown} ${stale[1].expires_at <= now ? 'expired' : 'expires'} at ${iso(stale[1].expires_at)}`
        : `no tokenbroker login for ${shown}`;
      throw new CliError(`${state}: run \`${loginHint}\` in a terminal, then run git again`);
    }
  });
}

interface CredentialRequest {
  protocol?: string;
  host?: string;
  username?: string;
  password?: string;
}

/** `key=value` lines up to a blank line; unknown keys (capability[], wwwauth[], path) are ignored. */
function parseRequest(text: string): CredentialRequest {
  const request: CredentialRequest = {};
  let fromUrl: { protocol: string; host: string } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') break;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'url') {
      try {
        const url = new URL(value);
        fromUrl = { protocol: url.protocol.slice(0, -1), host: url.host };
      } catch {
        // not a URL: nothing to answer for
      }
    } else if (key === 'protocol' || key === 'host' || key === 'username' || key === 'password') {
      request[key] = value;
    }
  }
  if (fromUrl) {
    // Git sends one or the other; a request whose url= and host=/protocol= disagree is nobody's.
    const disagree =
      (request.protocol !== undefined && request.protocol !== fromUrl.protocol) ||
      (request.host !== undefined && request.host.toLowerCase() !== fromUrl.host.toLowerCase());
    if (disagree) return {};
    Object.assign(request, fromUrl);
  }
  return request;
}

/** The origin git asks for, when a token may go there: https, or http on this machine. */
function requestOrigin(request: CredentialRequest): { protocol: string; host: string } | undefined {
  const { protocol, host: raw } = request;
  if ((protocol !== 'https' && protocol !== 'http') || !raw) return undefined;
  const host = hostOf(protocol, raw);
  if (!host) return undefined;
  if (protocol === 'http' && !isLoopbackHost(new URL(`http://${host}`).hostname)) return undefined;
  return { protocol, host };
}

/** `host[:port]` as URL writes it (lower case, no default port), or undefined when it is not one. */
function hostOf(protocol: string, raw: string): string | undefined {
  if (!/^[A-Za-z0-9.\-[\]:]+$/.test(raw)) return undefined;
  try {
    const url = new URL(`${protocol}://${raw}`);
    return url.host && url.pathname === '/' ? url.host : undefined;
  } catch {
    return undefined;
  }
}

/** The login answers for this origin: `--host` names the workspace host, else the token's audience. */
function servesTarget(
  login: StoredLogin,
  host: string | undefined,
  target: { protocol: string; host: string },
): boolean {
  if (host !== undefined) return host === target.host;
  return workspaceOrigins(login).includes(`${target.protocol}://${target.host}`);
}
