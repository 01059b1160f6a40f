import { ClientError } from '../../src/client/errors.js';
import { parseBrokerUrl, parseScopeSetting, parseTtlSetting } from '../../src/client/validate.js';

/** The action's inputs, checked; see action.yml for what each one means. */
export interface Inputs {
  brokerUrl: string;
  scope: string | undefined;
  /** Seconds, as sent to the broker. */
  ttl: string | undefined;
  audience: string;
  /** The variable to export the token as, or undefined for none. */
  exportEnv: string | undefined;
  revoke: boolean;
}

/**
 * Reads and checks every input before any network call, so a typo fails the
 * step at once with the input's name. The runner fills in action.yml's
 * defaults, so an empty string here means the user set the input empty.
 */
export function readInputs(getInput: (name: string) => string): Inputs {
  const brokerUrl = parseBrokerUrl(getInput('broker-url'), 'broker-url');
  const audience = getInput('audience').trim();
  return {
    brokerUrl,
    scope: parseScopeSetting(getInput('scope'), 'scope'),
    ttl: parseTtlSetting(getInput('ttl'), 'ttl'),
    // The broker-url as normalized: it must equal an entry of the provider's
    // `audiences`, which users write without a trailing slash.
    audience: audience || brokerUrl,
    exportEnv: parseExportEnv(getInput('export-env')),
    revoke: parseBoolean(getInput('revoke'), 'revoke', true),
  };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// The runner owns these; a token there would break the job or leak into tools.
const RESERVED = /^(GITHUB_|RUNNER_|ACTIONS_)|^(PATH|NODE_OPTIONS|HOME|CI)$/i;

function parseExportEnv(raw: string): string | undefined {
  const name = raw.trim();
  if (!name) return undefined;
  if (!ENV_NAME.test(name)) {
    throw new ClientError(
      'usage',
      `export-env ${JSON.stringify(name)} is not an environment variable name: use letters, digits and _, e.g. HF_TOKEN (or '' to export nothing)`,
    );
  }
  if (RESERVED.test(name)) {
    throw new ClientError(
      'usage',
      `export-env ${name} is a variable the runner or its tools depend on: choose another name, e.g. HF_TOKEN`,
    );
  }
  return name;
}

// The YAML 1.2 core schema booleans, as @actions/core getBooleanInput accepts.
const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

function parseBoolean(raw: string, name: string, fallback: boolean): boolean {
  const value = raw.trim();
  if (!value) return fallback;
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  throw new ClientError(
    'usage',
    `${name} ${JSON.stringify(value)} is not a boolean: use true or false`,
  );
}
