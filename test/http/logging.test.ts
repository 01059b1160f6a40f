import { afterEach, describe, expect, it } from 'vitest';
import { jsonLogger, redact } from '../../src/log.js';
import { form, introspect } from '../helpers/broker.js';
import { startCi, type CiSetup } from '../helpers/ci.js';

let ci: CiSetup;
afterEach(() => ci.close());

describe('logs', () => {
  it('never contain a token or a secret, whatever the outcome', async () => {
    const lines: string[] = [];
    ci = await startCi({ logger: jsonLogger((l) => lines.push(l)) });
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
