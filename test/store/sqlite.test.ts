import { SqliteStore } from '../../src/node/sqlite/store.js';
import { storeFiles } from '../helpers/store.js';
import { describeStore } from './contract.js';

const files = storeFiles();

describeStore('SQLite', async () => files.open().store);

// In-process writes (no writer thread) take the same path through the same statements.
describeStore('SQLite :memory:', async () => {
  const store = new SqliteStore(':memory:');
  files.later(() => store.close());
  return store;
});
