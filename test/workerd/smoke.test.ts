import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

describe('workerd', () => {
  it('has the migrated schema in D1', async () => {
    const row = await env.DB.prepare(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'issued_tokens'",
    ).first<{ n: number }>();
    expect(row?.n).toBe(1);
  });
});
