import { applyD1Migrations, env, reset } from 'cloudflare:test';
import { D1Store } from '../../src/store/d1.js';
import { describeStore } from '../store/contract.js';

// Each test starts from an empty D1, migrated as `wrangler d1 migrations apply` would.
describeStore('D1', async () => {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  return new D1Store(env.DB);
});
