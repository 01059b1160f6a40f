import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { rawConfigSchema } from './schema.js';
import { compileConfig, type Config } from './compile.js';
import { closest, keysAt } from './suggest.js';

export interface ConfigIssue {
  /** e.g. `ci.policies[2].match`; empty for the whole file. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n` +
        issues.map((i) => `  ${i.path || '(file)'}: ${i.message}`).join('\n'),
    );
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${NAME}` in every string value by the environment variable NAME.
 * Done on parsed values, not on the file text, so a value from the
 * environment can never change the structure of the config.
 */
function interpolate(
  value: unknown,
  env: Record<string, string | undefined>,
  path: PropertyKey[],
  issues: ConfigIssue[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string) => {
      const v = env[name];
      if (v === undefined) {
        issues.push({
          path: formatPath(path),
          message: `environment variable ${name} is not set: set it, or write the value in the file`,
        });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i], issues));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...path, k], issues)]),
    );
  }
  return value;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Rewords zod's generic messages into what a person editing YAML needs. */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return `required: expected ${iss.expected}`;
      if (iss.expected === 'string' && typeof iss.input === 'number') {
        return `expected a string, got the number ${iss.input}: quote it ('${iss.input}'), as YAML reads unquoted digits as a number (and a long id could lose digits)`;
      }
      return `expected ${iss.expected}, got ${describe(iss.input)}`;
    case 'unrecognized_keys':
      return `unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.join(', ')}: check the spelling against the config reference in the README`;
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(iss.input)}`;
    default:
      return undefined;
  }
};

/**
 * A union (e.g. `rate_limit: false | {...}`) reports one vague issue holding
 * every branch's issues. When one branch got past the top level, its issues
 * are the useful ones: show those, under the union's path.
 */
/** An issue as flattened, with what lets a misspelt key's "required" twin be dropped. */
interface Found extends ConfigIssue {
  /** The path of the key an unknown key was probably meant to be. */
  suggests?: string;
  /** A required key is absent. */
  missing?: boolean;
}

function flatten(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): Found[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path];
    if (i.code === 'invalid_union' && i.errors.length) {
      const deepest = i.errors
        .filter((branch) => branch.some((b) => b.path.length > 0 || b.code !== 'invalid_type'))
        .sort(
          (a, b) =>
            Math.max(...b.map((x) => x.path.length)) - Math.max(...a.map((x) => x.path.length)),
        )[0];
      if (deepest) return flatten(deepest, path);
    }
    if (i.code === 'unrecognized_keys') {
      const allowed = keysAt(rawConfigSchema, path);
      return i.keys.map((key) => {
        const near = closest(key, allowed);
        return {
          path: formatPath(path),
          ...(near ? { suggests: formatPath([...path, near]) } : {}),
          message: near
            ? `unknown key ${key}: did you mean ${near}?`
            : `unknown key ${key}: expected one of ${allowed.join(', ')} (see the config reference in the README)`,
        };
      });
    }
    const missing = i.code === 'invalid_type' && i.input === undefined;
    return [{ path: formatPath(path), message: i.message, ...(missing ? { missing } : {}) }];
  });
}

/**
 * A key written misspelt is also reported missing under its right name:
 * the suggestion says both, so the "required" issue is dropped.
 */
function withoutMisspeltRequired(issues: Found[]): ConfigIssue[] {
  const suggested = new Set(issues.flatMap((i) => (i.suggests ? [i.suggests] : [])));
  return issues
    .filter((i) => !(i.missing && suggested.has(i.path)))
    .map(({ path, message }) => ({ path, message }));
}

/**
 * The YAML parser's reason, where, and the lines around it with a caret:
 * its message says "at line 9, column 12:" and puts them after.
 */
function yamlProblem(e: unknown): string {
  if (!(e instanceof YAMLParseError)) return String(e);
  const [reason, ...context] = e.message.split('\n');
  const excerpt = context.filter((l) => l.trim() !== '').map((l) => `    | ${l}`);
  return [reason!.replace(/:$/, ''), ...excerpt].join('\n');
}

/** Parses config text (YAML, or JSON, which is YAML) into a compiled Config. */
export function parseConfig(
  text: string,
  options: { source?: string; env?: Record<string, string | undefined> } = {},
): Config {
  const source = options.source ?? 'config';
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError(source, [
      { path: '', message: `not valid YAML or JSON: ${yamlProblem(e)}` },
    ]);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(source, [
      { path: '', message: 'expected a mapping with at least issuer and tokens.audience' },
    ]);
  }
  const issues: ConfigIssue[] = [];
  const interpolated = interpolate(doc, options.env ?? {}, [], issues);
  if (issues.length) throw new ConfigError(source, issues);
  const parsed = rawConfigSchema.safeParse(interpolated, { error: errorMap });
  if (!parsed.success) {
    throw new ConfigError(source, withoutMisspeltRequired(flatten(parsed.error.issues, [])));
  }
  return compileConfig(parsed.data);
}
