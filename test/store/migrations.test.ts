import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, parseMigrations } from '../../src/store/migrations.js';

// migrations/ is the one source of the schema: wrangler reads it for D1, and
// the bundled list the SQLite store applies must be exactly its files.

const DIR = 'migrations';
const files = readdirSync(DIR).sort();

describe('the migrations', () => {
  it('are exactly the files in migrations/, in order, with their text unchanged', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(MIGRATIONS.map((m) => [m.file, m.sql])).toEqual(
      files.map((f) => [f, readFileSync(`${DIR}/${f}`, 'utf8')]),
    );
  });

  it('are numbered 1..N without gaps, and take their version and name from the file name', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(files.map((_, i) => i + 1));
    for (const m of MIGRATIONS) {
      expect(m.file).toBe(`${String(m.version).padStart(4, '0')}_${m.name}.sql`);
    }
  });

  it('hold only .sql files named as wrangler applies them (NNNN_name.sql)', () => {
    expect(files.filter((f) => !/^\d{4}_[a-z0-9_]+\.sql$/.test(f))).toEqual([]);
  });

  it('write each trigger on one line ending in its only END, in LF files, as remote D1 needs', () => {
    for (const m of MIGRATIONS) {
      expect(m.sql, m.file).not.toContain('\r');
      const statements = m.sql.split('\n').filter((l) => /^\s*CREATE\s+TRIGGER\b/i.test(l));
      for (const line of statements) {
        expect(line, m.file).toMatch(/\bEND;\s*$/);
        expect(line.match(/\bEND\b/gi), m.file).toHaveLength(1);
      }
    }
  });
});

describe('reading a list of migration files', () => {
  it.each([
    ['a gap in the numbers', ['0001_a.sql', '0003_c.sql'], 'should be number 2'],
    ['a list not starting at 1', ['0002_b.sql'], 'should be number 1'],
    ['a repeated number', ['0001_a.sql', '0001_b.sql'], 'should be number 2'],
    ['a name without its number', ['0001_a.sql', 'b.sql'], 'b.sql is not named NNNN_name.sql'],
    ['a name with a space', ['0001_a b.sql'], 'is not named NNNN_name.sql'],
  ])('refuses %s, naming the file', (_, names, message) => {
    expect(() => parseMigrations(names.map((f) => [f, 'SELECT 1;']))).toThrow(message);
  });

  it('reads a well-numbered list in order', () => {
    expect(
      parseMigrations([
        ['0001_first.sql', 'A'],
        ['0002_second_one.sql', 'B'],
      ]),
    ).toEqual([
      { version: 1, name: 'first', file: '0001_first.sql', sql: 'A' },
      { version: 2, name: 'second_one', file: '0002_second_one.sql', sql: 'B' },
    ]);
  });
});
