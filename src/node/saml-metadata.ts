import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/compile.js';
import { ConfigError } from '../config/load.js';
import { MetadataError, idpFromMetadataFile } from '../saml/metadata.js';

/**
 * Reads sso.saml.idp.metadata_file (relative to the config file's folder)
 * into the config, so the runtime-agnostic core never touches the disk.
 */
export function readSamlMetadataFile(config: Config, configPath: string, baseDir: string): void {
  const idp = config.sso?.saml?.idp;
  if (!idp?.metadataFile) return;
  const file = resolve(baseDir, idp.metadataFile);
  try {
    idp.metadataXml = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(configPath, [
      {
        path: 'sso.saml.idp.metadata_file',
        message:
          code === 'ENOENT'
            ? `file not found: ${file} (download the IdP's SAML metadata XML there, or use metadata_url)`
            : `cannot read ${file} (${code ?? String(e)})`,
      },
    ]);
  }
}

/**
 * Parses the metadata read from metadata_file, so that `config check` and
 * start-up report a broken file with its path instead of the first login
 * (which then reuses this parse).
 */
export async function checkSamlMetadataFile(config: Config, configPath: string): Promise<void> {
  const idp = config.sso?.saml?.idp;
  const settings = idp && idpFromMetadataFile(idp);
  if (!settings) return;
  try {
    await settings;
  } catch (e) {
    if (!(e instanceof MetadataError)) throw e;
    throw new ConfigError(configPath, [
      {
        path: 'sso.saml.idp.metadata_file',
        message: `${e.message}: download the IdP's metadata XML again`,
      },
    ]);
  }
}
