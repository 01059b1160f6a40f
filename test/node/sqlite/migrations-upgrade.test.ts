import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/node/sqlite/open.js';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import { MIGRATIONS } from '../../../src/store/migrations.js';
import { tempDir } from '../../helpers/broker.js';
import { auditRow } from '../../helpers/store.js';

// The SQLite store applies migrations/*.sql: a new database, one upgraded from
// any earlier version, and one created back when the migrations were
// TypeScript strings must all end with the same schema, and open cleanly.

interface SchemaRow {
  type: string;
  name: string;
  table: string;
  sql: string;
}

let cleanup: () => void = () => {};
afterEach(() => cleanup());

function path(): string {
  const t = tempDir();
  cleanup = t.cleanup;
  return join(t.dir, 'tb.db');
}

function schema(db: Database.Database): SchemaRow[] {
  return db
    .prepare(
      `SELECT type, name, tbl_name AS "table", sql FROM sqlite_master
       WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`,
    )
    .all() as SchemaRow[];
}

const applied = (db: Database.Database) =>
  db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();

/** Schema and applied versions of a database the current code creates from nothing. */
function freshSchema(): { objects: SchemaRow[]; versions: unknown[] } {
  const { db } = openDatabase(':memory:');
  try {
    return { objects: schema(db), versions: applied(db) };
  } finally {
    db.close();
  }
}

/** A database at `version`, as a build that knew only that many migrations left it. */
function databaseAt(file: string, version: number): void {
  const db = new Database(file);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, m.name);
  }
  db.close();
}

const oneLine = (sql: string) => sql.replace(/\s+/g, ' ').trim();

describe('upgrading a database through migrations/*.sql', () => {
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;

  it.each(Array.from({ length: latest }, (_, v) => v))(
    'a database at version %i ends with the same schema as a new one',
    (version) => {
      const file = path();
      databaseAt(file, version);
      const { db, schemaProblems } = openDatabase(file);
      try {
        expect(schemaProblems).toEqual([]);
        expect(schema(db)).toEqual(freshSchema().objects);
        expect(applied(db)).toEqual(freshSchema().versions);
      } finally {
        db.close();
      }
    },
  );
});

describe('a database created when the migrations were TypeScript strings', () => {
  const fixture = JSON.parse(
    readFileSync(new URL('fixtures/schema-from-ts-migrations.json', import.meta.url), 'utf8'),
  ) as { objects: SchemaRow[]; schema_migrations: { version: number; name: string }[] };

  /** The fixture's objects created with their stored text, so sqlite_master holds it byte for byte. */
  function oldDatabase(): string {
    const file = path();
    const db = new Database(file);
    for (const o of fixture.objects) db.exec(o.sql);
    const insert = db.prepare('INSERT INTO schema_migrations VALUES (?, ?)');
    for (const m of fixture.schema_migrations) insert.run(m.version, m.name);
    db.close();
    return file;
  }

  // The fixture stops at the last migration of that time; later files are applied on open.
  const known = MIGRATIONS.slice(0, fixture.schema_migrations.length);
  const laterObjects = new Set(
    MIGRATIONS.slice(known.length).flatMap((m) =>
      [
        ...m.sql.matchAll(
          /CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)/gi,
        ),
      ].map((x) => x[1]!),
    ),
  );

  it('records the same versions and names the files carry', () => {
    expect(fixture.schema_migrations).toEqual(
      known.map((m) => ({ version: m.version, name: m.name })),
    );
  });

  it('opens without a schema problem, runs no migration again and keeps its objects as they were', () => {
    const file = oldDatabase();
    const { db, schemaProblems } = openDatabase(file);
    try {
      expect(schemaProblems).toEqual([]);
      expect(applied(db)).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      const byName = (rows: SchemaRow[]) =>
        new Map(rows.filter((o) => !laterObjects.has(o.name)).map((o) => [o.name, o.sql]));
      expect(byName(schema(db))).toEqual(byName(fixture.objects));
    } finally {
      db.close();
    }
  });

  it('differs from a new database only in the layout of the audit trigger', () => {
    const file = oldDatabase();
    const old = new Database(file);
    const before = schema(old);
    old.close();
    const now = freshSchema().objects.filter((o) => !laterObjects.has(o.name));
    expect(before.map((o) => o.name)).toEqual(now.map((o) => o.name));
    const differing = now.filter((o, i) => o.sql !== before[i]!.sql);
    expect(differing.map((o) => o.name)).toEqual(['audit_events_no_update']);
    expect(oneLine(differing[0]!.sql)).toBe(oneLine(before.find((o) => o.type === 'trigger')!.sql));
  });

  it('keeps its audit log append-only after the store opens it', async () => {
    const store = new SqliteStore(oldDatabase());
    try {
      await store.appendAudit(auditRow('probe'));
      expect(() => store.db.prepare("UPDATE audit_events SET event = 'forged'").run()).toThrow(
        'audit_events is append-only',
      );
    } finally {
      await store.close();
    }
  });
});
