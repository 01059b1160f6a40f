import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from '../../store/migrations.js';
import { schemaProblems } from './schema.js';
import { PRAGMAS } from './writer.mjs';

type Row = Record<string, unknown>;

/**
 * The database file cannot be used. The message names the file and says what
 * to do: it is what an operator sees when the broker refuses to start.
 */
export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';
}

export interface OpenOptions {
  /**
   * False for commands that only administer an existing broker (`audit`,
   * `keys`, `revoke`): a missing file is a wrong --config, not a first run.
   */
  create?: boolean;
  /**
   * Open a database whose schema differs from the migrations' by a dropped
   * trigger or index rather than refuse; the differences are returned. For
   * the operator's commands: during an incident, reading the audit log or
   * revoking must still work on a tampered database.
   */
  tolerateSchemaProblems?: boolean;
}

/** Applies every migration newer than the database's version, each in its own transaction. */
export function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)',
  );
  const applied = new Set(
    db
      .prepare('SELECT version FROM schema_migrations')
      .all()
      .map((r) => (r as Row).version as number),
  );
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(
        m.version,
        m.name,
      );
    })();
  }
}

/** A version this build does not know: its tables may mean something else. */
function newerVersion(db: Database.Database): number | undefined {
  const known = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (!known) return undefined;
  const { v } = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as {
    v: number | null;
  };
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  return v !== null && v > latest ? v : undefined;
}

/** What went wrong, in the operator's terms, with what to do about it. */
function explain(path: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message ?? String(error);
  switch (code) {
    case 'SQLITE_NOTADB':
      return `${path} is not a SQLite database (${message}): point \`database\` in the config at the broker's database, or move this file away to start a new one`;
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return `the database ${path} is locked by another process (${message}): stop the other process using it (another broker, a sqlite3 shell in a transaction) and start again`;
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_READONLY_DIRECTORY':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `cannot open the database ${path} for writing (${message}): the broker needs to write the file and its folder ${dirname(path)} (for the -wal and -shm files); fix their owner or permissions, or set \`database\` in the config to a writable place`;
    case 'SQLITE_FULL':
    case 'ENOSPC':
      return `cannot write the database ${path}: the disk is full (${message}); free space on the filesystem of ${dirname(path)} and start again`;
    case 'SQLITE_CORRUPT':
      return `the database ${path} is corrupt (${message}): restore it from a backup`;
    default:
      return `cannot open the database ${path}: ${message}${typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''}; check the file and its folder, or set \`database\` in the config to another file`;
  }
}

/**
 * Opens, migrates and checks the broker's SQLite file (or `:memory:`). Every
 * failure is a DatabaseError naming the file and what to do. Returns the
 * connection and the schema differences it tolerated (see OpenOptions).
 */
export function openDatabase(
  path: string,
  options: OpenOptions = {},
): { db: Database.Database; schemaProblems: string[] } {
  const memory = path === ':memory:';
  if (!memory && options.create === false && !existsSync(path)) {
    throw new DatabaseError(`no database at ${path}: is --config the broker's config?`);
  }
  let db: Database.Database | undefined;
  try {
    if (!memory) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { fileMustExist: options.create === false });
    if (!memory) chmodSync(path, 0o600); // it holds the private signing keys
    for (const pragma of PRAGMAS) db.pragma(pragma);
    const newer = newerVersion(db);
    if (newer !== undefined) {
      throw new DatabaseError(
        `the database ${path} was written by a newer tokenbroker (schema version ${newer}; this one knows up to ${MIGRATIONS[MIGRATIONS.length - 1]!.version}): run that newer version, or restore a backup taken before the upgrade`,
      );
    }
    migrate(db);
    const problems = schemaProblems(db, path);
    // Without a table nothing works; a missing index or trigger still lets an operator read and revoke.
    const fatal = options.tolerateSchemaProblems
      ? problems.filter((p) => p.type === 'table')
      : problems;
    if (fatal.length) {
      throw new DatabaseError(
        `the database ${path} differs from the schema tokenbroker created; refusing to use it:\n${problems.map((p) => `  - ${p.text}`).join('\n')}`,
      );
    }
    return { db, schemaProblems: problems.map((p) => p.text) };
  } catch (error) {
    if (db?.open) db.close();
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError(explain(path, error), { cause: error });
  }
}
