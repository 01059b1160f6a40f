import { systemClock } from '../../src/shared/clock.js';
import type { Config } from '../../src/config/compile.js';
import { openBroker } from '../../src/node/open.js';
import type { AuditEvent, TokenSource } from '../../src/store/types.js';
import { Minter, type MintedToken } from '../../src/tokens/mint.js';
import { issued } from './broker.js';

/**
 * Leaves the broker's database as a running server would, with one live token
 * of `subject` in it: opened by the server's own path (creating the file and a
 * signing key on first use), minted by the real Minter, closed again. For CLI
 * tests of commands that read that database.
 */
export async function mintAsServer(
  config: Config,
  subject: string,
  options: {
    cwd?: string;
    audit?: Partial<AuditEvent>;
    source?: TokenSource;
    scopes?: string[];
    ttlSeconds?: number;
  } = {},
): Promise<MintedToken> {
  const { store, keys } = await openBroker(config, { cwd: options.cwd });
  try {
    const minter = new Minter({
      store,
      keys,
      clock: systemClock,
      issuer: config.issuer,
      audience: config.tokens.audience,
    });
    return await issued(
      minter.mint({
        subject,
        scopes: options.scopes ?? ['read:models/a/b'],
        ttlSeconds: options.ttlSeconds ?? 600,
        clientId: 't',
        source: options.source ?? 'web',
        audit: options.audit ?? {},
      }),
    );
  } finally {
    await store.close();
  }
}
