import { applyD1Migrations, env, reset } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { D1Store } from '../../src/store/d1.js';

describe('D1 readiness', () => {
  it('names the migrations not yet applied, and the command that applies them', async () => {
    await reset();
    const store = new D1Store(env.DB);
    const [none] = await store.readiness();
    expect(none).toMatch(
      /lacks migrations 0001_initial\.sql, .*: run `wrangler d1 migrations apply DB --remote`/,
    );

    const all = env.TEST_MIGRATIONS;
    await applyD1Migrations(env.DB, all.slice(0, -1));
    expect(await store.readiness()).toEqual([
      `D1 database (binding DB) lacks migrations ${all.at(-1)!.name}: run \`wrangler d1 migrations apply DB --remote\``,
    ]);

    await applyD1Migrations(env.DB, all);
    expect(await store.readiness()).toEqual([]);
  });
});
