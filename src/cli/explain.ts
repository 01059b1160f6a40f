import { decodeJwt, type JWTPayload } from 'jose';
import { ManualClock, systemClock, type Clock } from '../shared/clock.js';
import type { Config } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import type { CheckStep } from '../jws/verify.js';
import { jsonLogger } from '../shared/log.js';
import { loadConfigFile, resolveConfigPath } from '../node/config-file.js';
import { nodeCrypto } from '../node/crypto.js';
import { parseGithubSub } from '../oidc/identity.js';
import { CiVerifier } from '../oidc/verify.js';
import { evaluatePolicies } from '../policy/evaluate.js';
import { escapeForTerminal, jsonForTerminal } from '../shared/terminal.js';
import { verifyAsBroker } from './explain-broker.js';
import { CliError, type CliIO } from './io.js';

/**
 * `tokenbroker explain`: why a token would be accepted or refused. A CI
 * token runs through the same verifier and policy evaluation as the exchange
 * (without using up its jti); a token this broker issued (its `iss` is ours)
 * through the verifier of /introspect and narrowing. Prints every check, and
 * for a CI token every condition.
 */
export async function explainCommand(
  opts: { config?: string; token: string; now?: string },
  io: CliIO,
): Promise<void> {
  const { config, trust } = loadConfigFile(resolveConfigPath(opts.config, io.cwd, false), io.env);
  const token = (opts.token === '-' ? await io.readStdin() : opts.token).trim();
  if (!token)
    throw new CliError('no token given: pass --token JWT, or --token - and the token on stdin', 2);
  const clock = opts.now === undefined ? systemClock : parseNow(opts.now);
  const asOf = opts.now === undefined ? '' : ` (as of ${new Date(clock.now()).toISOString()})`;
  let claims: JWTPayload | undefined;
  try {
    claims = decodeJwt(token);
  } catch {
    claims = undefined;
  }
  if (claims?.iss === config.issuer)
    return explainBrokerToken(token, claims, config, clock, asOf, io);

  const steps: CheckStep[] = [];
  const verifier = new CiVerifier(config.ci.providers, {
    fetch: globalThis.fetch.bind(globalThis),
    clock,
    logger: jsonLogger((l) => io.stderr(`${l}\n`)),
    crypto: nodeCrypto(),
  });
  let verified = true;
  try {
    await verifier.verify(token, steps);
  } catch (e) {
    if (!(e instanceof BrokerError)) throw e;
    verified = false;
  }

  const out: string[] = [`CI token checks${asOf}`, ...steps.map(stepLine)];
  if (!claims) {
    io.stdout(lines(out));
    throw new CliError('the token is not a JWT: nothing more to explain');
  }
  out.push(...claimLines(claims));
  const gh = typeof claims.sub === 'string' ? parseGithubSub(claims.sub) : undefined;
  if (gh?.repoId) {
    out.push(
      `  (sub is GitHub's immutable form: owner id ${gh.ownerId}, repository id ${gh.repoId})`,
    );
  }

  const provider = config.ci.providers.find((p) => p.issuer === claims.iss);
  let matched: string[] = [];
  if (provider) {
    const results = evaluatePolicies(trust.policies, provider.name, claims, { every: true });
    out.push(
      '',
      `Trust policies of provider ${provider.name}${verified ? '' : ' (evaluated on the unverified claims)'}`,
    );
    if (results.length === 0) out.push('  (none)');
    for (const r of results) {
      const grant = r.source.grant.join(' ');
      out.push(
        `  ${r.matched ? 'MATCH' : 'no   '} ${r.policy}${r.matched ? `  grants ${grant}` : ''}`,
      );
      for (const c of r.conditions) {
        const why =
          c.tooLong === undefined
            ? `token has ${c.actual ?? '(no such claim)'}`
            : `the token's value is ${c.tooLong} characters, over limits.max_claim_length (${config.limits.maxClaimLength}), so it never matches`;
        out.push(
          `        ${c.matched ? 'ok  ' : 'FAIL'} ${c.claim}: expected ${c.expected}, ${why}`,
        );
      }
    }
    matched = results.filter((r) => r.matched).map((r) => r.policy);
  }
  out.push('');
  if (verified && matched.length) out.push(`Result: accepted by ${matched.join(', ')}`);
  else if (verified) out.push('Result: refused: no trust policy matched');
  else out.push(`Result: refused: ${failure(steps)}`);
  io.stdout(lines(out));
  if (!verified || matched.length === 0)
    throw new CliError('the broker would refuse this token', 1);
}

/**
 * A token whose `iss` is this broker: the checks of /introspect and
 * narrowing, against the broker's database, and its claims. Its scopes are
 * the ones recorded at issue; no policy is evaluated.
 */
async function explainBrokerToken(
  token: string,
  claims: JWTPayload,
  config: Config,
  clock: Clock,
  asOf: string,
  io: CliIO,
): Promise<void> {
  const verdict = await verifyAsBroker(token, config, clock, io);
  const out = [`Checks of a token this broker issued${asOf}`];
  if ('noDatabase' in verdict) {
    out.push(`  not checked: ${verdict.noDatabase}`, ...claimLines(claims), '');
    out.push('Result: unknown: the broker database is needed to check this token');
    io.stdout(lines(out));
    throw new CliError(`cannot check a token of this broker: ${verdict.noDatabase}`);
  }
  out.push(...verdict.steps.map(stepLine), ...claimLines(claims), '');
  out.push(
    verdict.verified
      ? `Result: accepted: active for /introspect, and may be narrowed`
      : `Result: refused: ${failure(verdict.steps)}`,
  );
  io.stdout(lines(out));
  if (!verdict.verified) throw new CliError('the broker would refuse this token', 1);
}

const stepLine = (s: CheckStep) => `  ${s.ok ? 'ok  ' : 'FAIL'} ${s.check.padEnd(20)} ${s.detail}`;

const failure = (steps: CheckStep[]) =>
  steps.find((s) => !s.ok)?.detail ?? 'the token does not verify';

/** The claims, names too: in an unsigned token they are anyone's text. */
const claimLines = (claims: JWTPayload) => [
  '',
  'Claims',
  ...Object.entries(claims).map(
    ([k, v]) => `  ${escapeForTerminal(k).padEnd(22)} ${jsonForTerminal(v)}`,
  ),
];

/**
 * The report, each line escaped as one field: a claim, a check's detail or a
 * policy's view of a claim cannot add a line (a second "Result:") or drive
 * the terminal, whatever the token holds.
 */
const lines = (out: string[]) => `${out.map((line) => escapeForTerminal(line)).join('\n')}\n`;

function parseNow(text: string): Clock {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new CliError(`--now ${text} is not a time: give Unix seconds or an ISO 8601 date`, 2);
  return new ManualClock(ms);
}
