import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { brokerKeys } from '../client/broker-keys.js';
import { parseBrokerUrl } from '../client/validate.js';
import { escapeForTerminal } from '../shared/terminal.js';
import {
  checkBrokerToken,
  decodeToken,
  isAccessTokenType,
  isTime,
  shown,
  when,
  type Check,
  type Decoded,
} from './inspect-checks.js';
import { CliError, type CliIO } from './io.js';
import { asCommand, chooseBroker, terminalContext, type TerminalContext } from './logins.js';

/**
 * `tokenbroker token inspect [TOKEN|-] [--broker URL]`: the header and every
 * claim of a token, then a verdict. The broker is the one the user named
 * (--broker, TOKENBROKER_URL, the only stored login), never the token's
 * `iss`: a forger chooses that, and keys fetched from it would vouch for the
 * forgery. Exit codes: 0 a valid broker token, a CI token, or a token only
 * decoded because no broker is named (the report says it was NOT verified);
 * 1 not a JWT, or a broker token that fails a check; 2 usage; 3 the broker
 * did not answer.
 */
export async function inspectCommand(
  tokenArg: string | undefined,
  opts: { broker?: string },
  io: CliIO,
): Promise<void> {
  await asCommand(async () => {
    const ctx = terminalContext(io);
    const { token, broker } = await whatToInspect(tokenArg, opts.broker, io, ctx);
    const decoded = decodeToken(token);
    const now = Math.floor(ctx.host.now() / 1000);
    const out = [...headerLines(decoded.header), '', ...claimLines(decoded.claims, now), ''];
    const print = () => io.stdout(`${out.map((l) => escapeForTerminal(l)).join('\n')}\n`);

    if ('none' in broker) {
      out.push(`Signature NOT verified: ${broker.none}`, guess(decoded));
      return print();
    }
    const at = escapeForTerminal(broker.url);
    let keys;
    try {
      keys = await brokerKeys(broker.url, ctx.http);
    } catch (e) {
      out.push(`Signature NOT verified: the keys of the broker at ${at} could not be fetched`);
      print();
      throw e;
    }
    const { claims, header } = decoded;
    const issuer = shown(keys.issuer);
    if (!isAccessTokenType(header.typ) && claims.iss !== keys.issuer) {
      if (typeof claims.iss !== 'string') {
        out.push(`Result: not a token of the broker at ${at} (issuer ${issuer}), and no iss`);
        print();
        throw new CliError(
          `the token has no typ at+jwt and no iss: it is neither a token of ${at} nor a CI OIDC token, and nothing can verify it`,
        );
      }
      out.push(...ciVerdict(claims, at, issuer, now));
      return print();
    }

    const checks = await checkBrokerToken(token, decoded, keys, now);
    out.push(
      `Checks against the broker at ${at} (issuer ${issuer}, keys from ${escapeForTerminal(keys.jwksUri)})`,
      ...checks.map(checkLine),
      '',
    );
    const failed = checks.filter((c) => !c.ok);
    if (failed.length === 0) {
      out.push(
        `Result: valid: a token of the broker at ${at}, signed by its key, not expired on this machine's clock`,
        'Revocation is not checked here: the broker knows (`tokenbroker whoami` asks it about your stored login).',
      );
      return print();
    }
    out.push(`Result: NOT valid: ${failed.map((c) => c.detail).join('; ')}`);
    print();
    const first = failed[0]!;
    throw new CliError(`not a valid token of ${at}: ${first.detail}: ${first.fix}`);
  });
}

type BrokerChoice = { url: string } | { none: string };

async function whatToInspect(
  tokenArg: string | undefined,
  flag: string | undefined,
  io: CliIO,
  ctx: TerminalContext,
): Promise<{ token: string; broker: BrokerChoice }> {
  if (tokenArg === undefined) {
    // The stored login's token: the broker must be known to find it.
    const url = chooseBroker(flag, io.env, () => ctx.file.read());
    const login = ctx.file.get(url);
    if (!login) {
      const at = escapeForTerminal(url);
      throw new CliError(
        `no login stored for ${at}: run \`tokenbroker login --broker ${at}\`, or give the token: \`tokenbroker token inspect TOKEN\` (or - to read it from stdin)`,
      );
    }
    return { token: login.access_token, broker: { url } };
  }
  const token = (tokenArg === '-' ? await io.readStdin() : tokenArg).trim();
  if (!token) {
    throw new CliError('no token given: pass it as the argument, or - and the token on stdin', 2);
  }
  return { token, broker: namedBroker(flag, io.env, ctx) };
}

/** Like chooseBroker, but none named is not an error: the token is then only decoded. */
function namedBroker(flag: string | undefined, env: CliIO['env'], ctx: TerminalContext) {
  if (flag !== undefined) return { url: parseBrokerUrl(flag, '--broker') };
  if (env.TOKENBROKER_URL) return { url: parseBrokerUrl(env.TOKENBROKER_URL, 'TOKENBROKER_URL') };
  const stored = Object.keys(ctx.file.read().brokers);
  if (stored.length === 1) return { url: stored[0]! };
  if (stored.length === 0) {
    return {
      none: 'no broker named: pass --broker URL, set TOKENBROKER_URL, or log in with `tokenbroker login --broker URL`',
    };
  }
  const list = stored.map((s) => escapeForTerminal(s)).join(', ');
  return {
    none: `logged in to ${stored.length} brokers (${list}): say which to verify against with --broker URL`,
  };
}

/** What the token looks like when no broker can say. */
function guess({ header, claims }: Decoded): string {
  if (isAccessTokenType(header.typ)) {
    return `It looks like a broker access token (typ at+jwt) from ${shown(claims.iss)}: verify it against the broker you got it from, never against the URL it names itself.`;
  }
  return `It looks like a CI OIDC token from ${shown(claims.iss)} (no typ at+jwt): the broker verifies such tokens when a job exchanges them.`;
}

function ciVerdict(claims: JWTPayload, at: string, issuer: string, now: number): string[] {
  const lines = [
    `Result: a CI OIDC token from ${shown(claims.iss)}, not a token of the broker at ${at} (whose issuer is ${issuer}).`,
    "The broker checks it (its signature against that issuer's keys, and the trust policies) when a job exchanges it;",
    "the broker's operator sees which policy accepts it with `tokenbroker explain --config F --token -`.",
  ];
  if (isTime(claims.exp) && claims.exp <= now) {
    lines.push(
      `It expired at ${when(claims.exp, now)}: the broker would refuse it now; a CI job mints a fresh one for each exchange.`,
    );
  }
  return lines;
}

/** alg, kid and typ first, always; then any other header field (jku, x5u...: never followed). */
function headerLines(header: ProtectedHeaderParameters): string[] {
  const first = ['alg', 'kid', 'typ'];
  const rest = Object.keys(header).filter((k) => !first.includes(k));
  return ['Header', ...[...first, ...rest].map((k) => field(k, shown(header[k])))];
}

const TIMES = new Set(['exp', 'nbf', 'iat', 'auth_time']);

/** Every claim, its name escaped too (anyone's text); times also as dates. */
function claimLines(claims: JWTPayload, now: number): string[] {
  return [
    'Claims',
    ...Object.entries(claims).map(([k, v]) =>
      field(k, TIMES.has(k) && isTime(v) ? `${shown(v)}  ${when(v, now)}` : shown(v)),
    ),
  ];
}

const field = (name: string, value: string) => `  ${escapeForTerminal(name).padEnd(12)} ${value}`;

const checkLine = (c: Check) =>
  `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check.padEnd(10)} ${c.ok ? c.detail : `${c.detail}: ${c.fix}`}`;
