/**
 * The numbered schema migrations, shared by the SQLite and D1 stores. The SQL
 * lives only in migrations/NNNN_name.sql at the top of the repository, which
 * `wrangler d1 migrations apply` reads as they are; here they are inlined as
 * text by the bundler (esbuild's text loader, the `sql-text` plugin in
 * vitest.config.ts), so an installed package needs no file beside it and this
 * folder stays free of node:fs.
 *
 * Append only: a released migration is never edited (databases record the
 * versions they applied and never run one twice). Plain SQL that both engines
 * accept, with each trigger on one line (see 0001_initial.sql).
 */
import m0001 from '../../migrations/0001_initial.sql';
import m0002 from '../../migrations/0002_saml_requests.sql';
import m0003 from '../../migrations/0003_drop_saml_requests.sql';
import m0004 from '../../migrations/0004_partial_parent_index.sql';
import m0005 from '../../migrations/0005_readiness_probe.sql';
import m0006 from '../../migrations/0006_device_codes.sql';
import m0007 from '../../migrations/0007_rate_limit_windows.sql';
import m0008 from '../../migrations/0008_scim_users.sql';

export interface Migration {
  version: number;
  name: string;
  /** The file it came from, as wrangler names it: `0001_initial.sql`. */
  file: string;
  sql: string;
}

/** Each file once, in order; test/store/migrations.test.ts checks it against migrations/. */
const FILES: [file: string, sql: string][] = [
  ['0001_initial.sql', m0001],
  ['0002_saml_requests.sql', m0002],
  ['0003_drop_saml_requests.sql', m0003],
  ['0004_partial_parent_index.sql', m0004],
  ['0005_readiness_probe.sql', m0005],
  ['0006_device_codes.sql', m0006],
  ['0007_rate_limit_windows.sql', m0007],
  ['0008_scim_users.sql', m0008],
];

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The version and name come from the file name, so they cannot drift from what wrangler records. */
export function parseMigrations(files: [file: string, sql: string][]): Migration[] {
  return files.map(([file, sql], i) => {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`migration file ${file} is not named NNNN_name.sql`);
    const version = Number(match[1]);
    if (version !== i + 1) {
      throw new Error(
        `migration file ${file} should be number ${i + 1}: versions run 1..N without gaps`,
      );
    }
    return { version, name: match[2]!, file, sql };
  });
}

export const MIGRATIONS: Migration[] = parseMigrations(FILES);
