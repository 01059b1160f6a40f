import { existsSync } from 'node:fs';
import type { Clock } from '../shared/clock.js';
import type { Config } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import type { CheckStep } from '../jws/verify.js';
import { nodeCrypto } from '../node/crypto.js';
import { databasePath, openExistingStore } from '../node/open.js';
import { verifyOwnToken } from '../tokens/verify.js';
import type { CliIO } from './io.js';

export type BrokerTokenVerdict =
  | { steps: CheckStep[]; verified: boolean }
  /** Why the checks could not run: the keys and the token records are in a database explain cannot reach. */
  | { noDatabase: string };

/**
 * Verifies a token this broker issued as the running broker would: the same
 * verifier, against the keys and token records in its database. The database
 * is opened as the operator's commands open it (never created, so a wrong
 * --config cannot leave an empty one behind) and nothing is written to it:
 * the keys are read from the store, not through a key ring that would make
 * one.
 */
export async function verifyAsBroker(
  token: string,
  config: Config,
  clock: Clock,
  io: CliIO,
): Promise<BrokerTokenVerdict> {
  const path = databasePath(config, io.cwd);
  if (path === ':memory:') {
    return {
      noDatabase:
        'the config keeps the database in memory (database: ":memory:"), where only the running broker can read it: the signature, and whether the token was recorded or revoked, cannot be checked from here',
    };
  }
  if (!existsSync(path)) {
    return {
      noDatabase: `there is no database at ${path}: the signature, and whether the token was recorded or revoked, are checked against the broker's database; run explain where it is, with the broker's --config`,
    };
  }
  // A DatabaseError (locked, corrupt, newer schema) reaches main, which prints it.
  const store = openExistingStore(config, { cwd: io.cwd });
  for (const problem of store.schemaProblems) io.stderr(`tokenbroker: WARNING: ${problem}\n`);
  const steps: CheckStep[] = [];
  try {
    await verifyOwnToken(
      token,
      {
        keys: {
          verifyingJwk: async (kid) =>
            (await store.listKeys()).find((k) => k.kid === kid)?.publicJwk,
        },
        store,
        clock,
        config,
        crypto: nodeCrypto(),
      },
      steps,
    );
    return { steps, verified: true };
  } catch (e) {
    if (!(e instanceof BrokerError)) throw e;
    return { steps, verified: false };
  } finally {
    await store.close();
  }
}
