import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfig } from '../config/load.js';
import type { Config } from '../config/compile.js';
import { readSamlMetadataFile } from './saml-metadata.js';

/** The example config shipped with the package, used until the demo lands. */
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
  readSamlMetadataFile(config, path, dirname(path));
  return { path, config };
}
