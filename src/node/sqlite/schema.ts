import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../store/migrations.js';

interface SchemaObject {
  type: 'table' | 'index' | 'trigger';
  name: string;
  table: string;
  sql: string;
}

/** What is lost without an object, for the objects whose absence is not self-explanatory. */
const WHY: Record<string, string> = {
  audit_events_no_update:
    'it keeps the audit log append-only; without it any process with write access can rewrite audit rows in place and the log proves nothing',
};

function objects(db: Database.Database): SchemaObject[] {
  return db
    .prepare(
      `SELECT type, name, tbl_name AS "table", sql FROM sqlite_master
       WHERE type IN ('table', 'index', 'trigger') AND sql IS NOT NULL
         AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`,
    )
    .all() as SchemaObject[];
}

export interface SchemaProblem {
  type: SchemaObject['type'];
  /** The object, why it matters, and the repair. */
  text: string;
}

let reference: Map<string, SchemaObject> | undefined;

/**
 * The schema the migrations create, built once by running them on an empty
 * in-memory database: the migrations stay the one description of the schema.
 */
function expected(): Map<string, SchemaObject> {
  if (reference) return reference;
  const db = new Database(':memory:');
  try {
    for (const m of MIGRATIONS) db.exec(m.sql);
    reference = new Map(objects(db).map((o) => [o.name, o]));
  } finally {
    db.close();
  }
  return reference;
}

const oneLine = (sql: string) => sql.replace(/\s+/g, ' ').trim();

function repair(path: string, o: SchemaObject): string {
  const sql = `${oneLine(o.sql)};`;
  if (o.type === 'table') {
    return `restore the database from a backup; to go on with an empty ${o.name} instead, stop the broker and run: sqlite3 '${path}' "${sql}" (and its indexes, named in the next lines)`;
  }
  return `stop the broker and run: sqlite3 '${path}' "${sql}"`;
}

/**
 * Every table, index and trigger the migrations create must be present, and
 * triggers unchanged (a trigger with the right name and an empty body guards
 * nothing). Objects an operator added are left alone. Each problem names the
 * object, why it matters and how to repair it.
 */
export function schemaProblems(db: Database.Database, path: string): SchemaProblem[] {
  const present = new Map(objects(db).map((o) => [o.name, o]));
  const problems: SchemaProblem[] = [];
  for (const want of expected().values()) {
    const have = present.get(want.name);
    const why =
      WHY[want.name] ??
      (want.type === 'index'
        ? `queries on ${want.table} scan the whole table without it`
        : want.type === 'table'
          ? 'the broker reads and writes it'
          : `it guards ${want.table}`);
    if (!have) {
      problems.push({
        type: want.type,
        text: `${want.type} ${want.name} is missing: ${why}. To repair, ${repair(path, want)}`,
      });
    } else if (want.type === 'trigger' && oneLine(have.sql) !== oneLine(want.sql)) {
      problems.push({
        type: want.type,
        text: `trigger ${want.name} was changed: ${why}. To repair, stop the broker and run: sqlite3 '${path}' "DROP TRIGGER ${want.name}; ${oneLine(want.sql)};"`,
      });
    }
  }
  return problems;
}
