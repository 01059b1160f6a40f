import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * A simulated Actions runner: it runs action/dist/<step>.js with node as a
 * child process, the way the runner does, with the file commands
 * (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE) in temp files, the inputs as
 * INPUT_<NAME> (upper case, hyphens kept) with action.yml's defaults filled
 * in, and the main step's saved state handed to the post step as STATE_<name>.
 */
export const ACTION_DIR = resolve('action');

interface ActionYml {
  inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description?: string }>;
  runs: Record<string, string>;
}
export const actionYml = (): ActionYml =>
  parse(readFileSync(join(ACTION_DIR, 'action.yml'), 'utf8')) as ActionYml;

export interface StepResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The file commands as written, and parsed. */
  files: { output: string; env: string; state: string };
  outputs: Record<string, string>;
  exported: Record<string, string>;
  state: Record<string, string>;
}

export async function runStep(
  step: 'main' | 'post',
  options: {
    inputs?: Record<string, string>;
    env?: Record<string, string>;
    state?: Record<string, string>;
  } = {},
): Promise<StepResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tokenbroker-runner-'));
  try {
    const files = { output: 'output', env: 'env', state: 'state' };
    for (const f of Object.values(files)) writeFileSync(join(dir, f), '');
    const env: Record<string, string> = {
      // Nothing from the test's own environment: a suite that itself runs in
      // GitHub Actions must not hand its real id-token variables to the step.
      PATH: process.env.PATH ?? '',
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: join(dir, files.output),
      GITHUB_ENV: join(dir, files.env),
      GITHUB_STATE: join(dir, files.state),
      ...inputEnv(options.inputs ?? {}),
      ...Object.fromEntries(Object.entries(options.state ?? {}).map(([k, v]) => [`STATE_${k}`, v])),
      ...options.env,
    };
    const { code, stdout, stderr } = await runNode(join(ACTION_DIR, 'dist', `${step}.js`), env);
    const raw = {
      output: readFileSync(env.GITHUB_OUTPUT!, 'utf8'),
      env: readFileSync(env.GITHUB_ENV!, 'utf8'),
      state: readFileSync(env.GITHUB_STATE!, 'utf8'),
    };
    return {
      code,
      stdout,
      stderr,
      files: raw,
      outputs: parseFileCommand(raw.output),
      exported: parseFileCommand(raw.env),
      state: parseFileCommand(raw.state),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** action.yml defaults, overridden by `inputs`, as the runner names them. */
function inputEnv(inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(actionYml().inputs)) {
    const value = inputs[name] ?? spec.default;
    if (value !== undefined) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  return env;
}

// Async on purpose: the broker and the runtime endpoint live in this process.
function runNode(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/**
 * The runner's file-command format: `name=value` lines, or
 * `name<<DELIM` / value lines / `DELIM` for a value that may span lines.
 * Strict: anything else throws, so a malformed file fails the test.
 */
export function parseFileCommand(text: string): Record<string, string> {
  const lines = text.split(/\r?\n/);
  const out: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' && i === lines.length - 1) break;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      if (end < 0) throw new Error(`no closing delimiter for ${heredoc[1]}`);
      out[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`not a file command line: ${JSON.stringify(line)}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The data of the workflow commands (`::name::data`) printed, decoded. */
export function commands(stdout: string, name: string): string[] {
  return stdout
    .split(/\r?\n/)
    .filter((l) => l.startsWith(`::${name}::`))
    .map((l) =>
      l
        .slice(name.length + 4)
        .replace(/%0D/g, '\r')
        .replace(/%0A/g, '\n')
        .replace(/%25/g, '%'),
    );
}
