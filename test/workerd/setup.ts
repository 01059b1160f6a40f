import { applyD1Migrations, env } from 'cloudflare:test';

// Each test file gets its own storage; the schema is the migrations', applied as wrangler would.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
