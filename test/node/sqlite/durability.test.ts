import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/node/sqlite/store.js';
import { EXCHANGE, form, mintFor, startBroker, type TestBroker } from '../../helpers/broker.js';
import { deviceRow } from '../../helpers/store.js';

let broker: TestBroker;
afterEach(() => broker.cleanup());

describe('durability', () => {
  it('has an issued row and an audit row for every token it returned, after reopening', async () => {
    broker = await startBroker();
    const parent = await mintFor(broker, ['read:models/**'], 3600);
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        broker.app.request(
          '/token',
          form({
            grant_type: EXCHANGE.grant_type,
            subject_token: parent.token,
            subject_token_type: EXCHANGE.access,
            scope: `read:models/acme/m${i}`,
          }),
        ),
      ),
    );
    const tokens = await Promise.all(
      responses.map(async (r) => (await r.json()).access_token as string),
    );
    expect(tokens.every((t) => typeof t === 'string')).toBe(true);
    const jtis = tokens.map(
      (t) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).jti as string,
    );
    expect(new Set(jtis).size).toBe(200);

    await broker.close();
    const store = new SqliteStore(broker.dbPath);
    try {
      const issued = await store.queryAudit({ event: 'token.issued' });
      const audited = new Set(issued.map((e) => e.jti));
      for (const jti of jtis) {
        expect(await store.getToken(jti)).toBeDefined();
        expect(audited.has(jti)).toBe(true);
      }
    } finally {
      await store.close();
    }
  });

  it('does not return a token whose rows could not be committed', async () => {
    broker = await startBroker();
    const parent = await mintFor(broker, ['read:models/**'], 3600);
    // Make the audit insert fail: the token must not be returned.
    broker.store.db.exec(
      "CREATE TRIGGER fail_issue BEFORE INSERT ON audit_events WHEN NEW.event = 'token.issued' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    const res = await broker.app.request(
      '/token',
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token: parent.token,
        subject_token_type: EXCHANGE.access,
      }),
    );
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error).toBe('server_error');
    expect(JSON.stringify(body)).not.toMatch(/eyJ/);
    expect(body.error_description).toMatch(
      /^internal error; quote request id \S+ to the operator$/,
    );
    const rows = broker.store.db.prepare('SELECT count(*) AS n FROM issued_tokens').get() as {
      n: number;
    };
    expect(rows.n).toBe(1); // only the parent: the transaction rolled back
  });

  it('keeps the audit log append-only', async () => {
    broker = await startBroker();
    await mintFor(broker, ['read:models/x/y']);
    expect(() => broker.store.db.exec("UPDATE audit_events SET reason = 'edited'")).toThrow(
      /append-only/,
    );
  });

  it('prunes expired replay guards, tokens, device codes and old audit rows', async () => {
    broker = await startBroker();
    const now = Math.floor(broker.clock.now() / 1000);
    expect(await broker.store.claimOnce('jti-1', now + 10)).toBe(true);
    expect(await broker.store.claimOnce('jti-1', now + 10)).toBe(false);
    await mintFor(broker, ['read:models/x/y'], 60);
    // Device codes stay an hour past expiry (a late poll hears expired_token): this one is older.
    await broker.store.createDeviceCode(
      deviceRow('d1', { createdAt: now - 4200, expiresAt: now - 3600 }),
    );
    const counts = await broker.store.prune(now + 100, 50);
    expect(counts).toEqual({
      replayGuards: 1,
      tokens: 1,
      sessions: 0,
      deviceCodes: 1,
      auditEvents: 1,
    });
    expect(await broker.store.claimOnce('jti-1', now + 200)).toBe(true);
  });
});
