import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfig } from '../config/load.js';
import type { Config } from '../config/compile.js';
import { compileTrust, type Trust } from '../policy/compile.js';
import { readSamlMetadataFile } from './saml-metadata.js';

/** The example config shipped with the package (`serve` without a config runs the demo instead). */
export function bundledConfigPath(): string {
  // dist/cli.js and src/node/config-file.ts both sit two levels below the root or one.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = resolve(dir, 'examples/tokenbroker.yaml');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('examples/tokenbroker.yaml is missing from the package');
}

/** `--config F`, else ./tokenbroker.yaml, else (where allowed) the bundled example. */
export function resolveConfigPath(
  explicit: string | undefined,
  cwd: string,
  fallback: boolean,
): string {
  if (explicit) return resolve(cwd, explicit);
  const local = resolve(cwd, 'tokenbroker.yaml');
  if (existsSync(local) || !fallback) return local;
  return bundledConfigPath();
}

export interface LoadedConfig {
  path: string;
  config: Config;
  /** Its trust policies and roles, compiled: a matcher the broker cannot run is refused here. */
  trust: Trust;
}

export function loadConfigFile(
  path: string,
  env: Record<string, string | undefined>,
): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(path, [
      {
        path: '',
        message:
          code === 'ENOENT'
            ? 'file not found: pass --config F, or create ./tokenbroker.yaml (see examples/tokenbroker.yaml)'
            : `cannot read the file (${code ?? String(e)})`,
      },
    ]);
  }
  const config = parseConfig(text, { source: path, env });
  const trust = compileTrust(config, path);
  readSamlMetadataFile(config, path, dirname(path));
  return { path, config: { ...config, database: databaseNextTo(path, config.database) }, trust };
}

function isBundled(path: string): boolean {
  try {
    return path === bundledConfigPath();
  } catch {
    return false;
  }
}

/**
 * `database` relative to the config file's folder, as every relative path in
 * a config is: resolved against the working folder, running `revoke` from
 * elsewhere opened (and created) another, empty database. The bundled example
 * is the exception: its relative `database` stays relative, for the server to
 * put under the working folder (`npm start` writes ./data/, never the
 * package's own folder, which may not be writable or may be replaced).
 */
function databaseNextTo(configPath: string, database: string): string {
  if (database === ':memory:' || isAbsolute(database) || isBundled(configPath)) return database;
  return resolve(dirname(configPath), database);
}
