import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGE, form, introspect, mintFor } from '../helpers/broker.js';
import { startCi, type CiSetup } from '../helpers/ci.js';

let ci: CiSetup;
beforeAll(async () => {
  ci = await startCi();
});
afterAll(() => ci.close());

/** Each would have matched the grant `write:models/acme/*` before the resource had a grammar. */
const BAD_RESOURCES: [string, string][] = [
  ['an ESC sequence', 'acme/\u001b[31mred\u001b[0m'],
  ['a BEL', 'acme/bert\u0007'],
  ['a NUL', 'acme/bert\u0000'],
  ['an encoded ../', 'acme/%2F..%2Fadmin'],
  ['a right-to-left override', 'acme/\u202etreb'],
  ['17,000 characters', `acme/${'b'.repeat(17_000)}`],
  ['201 characters after models/', `acme/${'b'.repeat(190)}`],
  ['a wildcard', 'acme/*'],
  ['a double wildcard', 'acme/**'],
  ['a colon', 'acme/bert:latest'],
  ['a space', 'acme/my bert'],
  ['a tab', 'acme/bert\t'],
  ['an empty segment', 'acme//bert'],
  ['a trailing slash', 'acme/bert/'],
  ['a leading slash', '/acme/bert'],
  ['a .. segment', 'acme/..'],
  ['a . segment', 'datasets/acme/.'],
  ['a non-ASCII letter', 'acme/bért'],
  ['a quote', 'acme/"bert"'],
  ['a kind Hugging Face does not have', 'buckets/acme/bert'],
  ['too many segments', 'models/acme/bert/v2'],
  ['one segment', 'bert'],
];

/** What a refusal must look like: a 400 that says what a resource is, and prints no control character. */
async function expectResourceRefused(res: Response): Promise<void> {
  expect(res.status).toBe(400);
  const body = (await res.json()) as {
    error: string;
    error_description: string;
    access_token?: string;
  };
  expect(body.access_token).toBeUndefined();
  expect(body.error).toBe('invalid_target');
  expect(body.error_description).toContain('ns/name');
  // Printable ASCII only: no control or bidirectional character of the request is echoed.
  expect(body.error_description).toMatch(/^[\x20-\x7e]*$/);
  expect(body.error_description.length).toBeLessThan(600);
}

describe('the resource parameter follows the scope grammar', () => {
  it.each(BAD_RESOURCES)('a CI exchange with %s in resource is refused', async (_, resource) => {
    await expectResourceRefused(await ci.exchange(await ci.github.github(), { resource }));
  });

  it.each(BAD_RESOURCES)('narrowing with %s in resource is refused', async (_, resource) => {
    const { token } = await mintFor(ci.broker, ['write:models/acme/*', 'read:models/acme/**']);
    const res = await ci.broker.app.request(
      '/token',
      form({
        grant_type: EXCHANGE.grant_type,
        subject_token: token,
        subject_token_type: EXCHANGE.access,
        resource,
      }),
    );
    await expectResourceRefused(res);
  });

  it.each([
    ['acme/bert', 'write:models/acme/bert read:models/acme/bert'],
    ['models/acme/bert-v2.1_x', 'write:models/acme/bert-v2.1_x read:models/acme/bert-v2.1_x'],
    ['datasets/acme/squad', 'read:datasets/acme/squad'],
    [
      `acme/${'b'.repeat(188)}`,
      `write:models/acme/${'b'.repeat(188)} read:models/acme/${'b'.repeat(188)}`,
    ],
  ])('still narrows a CI exchange to the Hugging Face form %s', async (resource, scope) => {
    const res = await ci.exchange(await ci.github.github(), { resource });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { scope: string; access_token: string };
    expect(body.scope).toBe(scope);
    expect(decodeJwt(body.access_token).scope).toBe(scope);
    expect((await introspect(ci.broker, body.access_token)).active).toBe(true);
  });
});
