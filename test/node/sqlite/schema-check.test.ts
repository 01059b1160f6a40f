import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import { tempDir } from '../../helpers/broker.js';
import { auditRow } from '../../helpers/store.js';

// A database someone changed by hand: each case drops or rewrites what the
// migrations created, then opens the file as the server does.

let cleanup: () => void = () => {};
afterEach(() => cleanup());

/** A broker database, created and closed, altered with `sql` by another connection. */
async function alteredDatabase(sql: string): Promise<string> {
  const t = tempDir();
  cleanup = t.cleanup;
  const path = join(t.dir, 'tb.db');
  await new SqliteStore(path).close();
  const other = new Database(path);
  other.exec(sql);
  other.close();
  return path;
}

function openError(path: string): Error {
  try {
    new SqliteStore(path);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${path} opened`);
}

/** Runs the repair the message gives (the SQL inside `sqlite3 'path' "..."`). */
function runRepair(path: string, message: string): void {
  const sql = /sqlite3 '[^']+' "([^"]+)"/.exec(message)?.[1];
  expect(sql).toBeDefined();
  const db = new Database(path);
  db.exec(sql!);
  db.close();
}

describe('the schema check at open', () => {
  it('refuses a database whose append-only audit trigger was dropped, saying why and how to repair it', async () => {
    const path = await alteredDatabase('DROP TRIGGER audit_events_no_update');
    const error = openError(path);
    expect(error.name).toBe('DatabaseError');
    expect(error.message).toContain(`the database ${path} differs from the schema`);
    expect(error.message).toContain('trigger audit_events_no_update is missing');
    expect(error.message).toContain('keeps the audit log append-only');
    expect(error.message).toContain('CREATE TRIGGER audit_events_no_update BEFORE UPDATE');

    runRepair(path, error.message);
    const store = new SqliteStore(path);
    try {
      await store.appendAudit(auditRow('probe'));
      expect(() => store.db.prepare("UPDATE audit_events SET event = 'forged'").run()).toThrow(
        'audit_events is append-only',
      );
    } finally {
      await store.close();
    }
  });

  it('refuses a trigger that keeps its name but no longer guards anything', async () => {
    const path = await alteredDatabase(`
      DROP TRIGGER audit_events_no_update;
      CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT 1; END;`);
    const error = openError(path);
    expect(error.message).toContain('trigger audit_events_no_update was changed');
    runRepair(path, error.message);
    await new SqliteStore(path).close();
  });

  it('refuses a dropped index, with the statement that recreates it', async () => {
    const path = await alteredDatabase('DROP INDEX issued_tokens_subject');
    const error = openError(path);
    expect(error.message).toContain('index issued_tokens_subject is missing');
    expect(error.message).toContain('queries on issued_tokens scan the whole table');
    runRepair(path, error.message);
    await new SqliteStore(path).close();
  });

  it('refuses a dropped table, even where a dropped index would be tolerated', async () => {
    const path = await alteredDatabase('DROP TABLE sessions');
    for (const options of [{}, { tolerateSchemaProblems: true }]) {
      let message = '';
      try {
        new SqliteStore(path, options);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('table sessions is missing');
      expect(message).toContain('restore the database from a backup');
      expect(message).toContain('index sessions_subject is missing');
    }
  });

  it('opens a tolerated difference for the operator commands, and lists it', async () => {
    const path = await alteredDatabase('DROP TRIGGER audit_events_no_update');
    const store = new SqliteStore(path, { tolerateSchemaProblems: true });
    try {
      expect(store.schemaProblems).toHaveLength(1);
      expect(store.schemaProblems[0]).toContain('trigger audit_events_no_update is missing');
    } finally {
      await store.close();
    }
  });

  it('leaves alone what an operator added', async () => {
    const path = await alteredDatabase(
      'CREATE INDEX my_audit_by_event ON audit_events (event); CREATE TABLE my_notes (x TEXT)',
    );
    const store = new SqliteStore(path);
    expect(store.schemaProblems).toEqual([]);
    await store.close();
  });
});
