import { afterEach, describe, expect, it } from 'vitest';
import { redact, type Logger } from '../../src/shared/log.js';
import { form, introspect } from '../helpers/broker.js';
import { startCi, type CiSetup } from '../helpers/ci.js';

let ci: CiSetup;
afterEach(() => ci.close());

/**
 * A logger that keeps what callers hand it, unmasked: the JWT mask of
 * jsonLogger is a safety net, so this test must fail when a caller passes a
 * token, not only when the net has a hole.
 */
function rawLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    lines.push(
      JSON.stringify({ level, msg, ...fields }, (_k, v: unknown) =>
        v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v,
      ),
    );
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

describe('logs', () => {
  it('never contain a token or a secret, whatever the outcome', async () => {
    const lines: string[] = [];
    ci = await startCi({ logger: rawLogger(lines) });
    const good = await ci.github.github();
    const issued = (await (await ci.exchange(good)).json()).access_token as string;
    await ci.exchange(good); // replay
    await ci.exchange(await ci.github.github({ repository: 'acme/x' })); // denied
    await introspect(ci.broker, issued);
    await ci.broker.app.request('/revoke', form({ token: issued }));
    ci.gitlab.jwksBody = { keys: [] };
    expect((await ci.exchange(await ci.gitlab.gitlab())).status).toBe(503); // logged as an error
    expect(lines.some((l) => JSON.parse(l).level === 'error')).toBe(true);
    const all = lines.join('\n');
    expect(all).not.toContain(good);
    expect(all).not.toContain(issued);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
    expect(all).not.toContain('hub-secret-for-tests');
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('masks anything shaped like a JWT that reaches the logger', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    expect(redact({ msg: `bad token ${jwt}`, nested: [jwt] })).toEqual({
      msg: 'bad token [redacted-jwt]',
      nested: ['[redacted-jwt]'],
    });
  });
});
