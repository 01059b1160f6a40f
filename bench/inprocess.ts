/**
 * The exchange without HTTP: app.request() in-process, to separate the
 * broker's own cost from the HTTP server's.   node scripts/run-ts.mjs bench/inprocess.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.js';
import { nodeCrypto } from '../src/node/crypto.js';
import { systemClock } from '../src/shared/clock.js';
import { parseConfig } from '../src/config/load.js';
import { SqliteStore } from '../src/node/sqlite/store.js';
import { KeyRing } from '../src/tokens/keys.js';
import { startTestIssuer } from '../test/helpers/oidc-issuer.js';
import { stringify } from 'yaml';

const N = 3000;
const issuer = await startTestIssuer();
const dir = mkdtempSync(join(tmpdir(), 'tokenbroker-inproc-'));
const config = parseConfig(
  stringify({
    issuer: 'https://broker.test',
    tokens: { audience: 'https://hub.test' },
    rate_limit: false,
    ci: {
      providers: [
        { name: 'github', issuer: issuer.url, kind: 'github', audiences: ['https://broker.test'] },
      ],
      policies: [
        {
          name: 'm',
          provider: 'github',
          match: { repository: 'acme/models' },
          grant: ['write:models/acme/*'],
        },
      ],
    },
  }),
);
const store = new SqliteStore(join(dir, 'tb.db'));
const keys = new KeyRing(store, systemClock, { algorithm: 'ES256' });
await keys.init();
const app = createApp({ config, store, keys, crypto: nodeCrypto() });
const tokens: string[] = [];
for (let i = 0; i < N + 50; i++) tokens.push(await issuer.github({}, { ttl: 3600 }));
const body = (t: string) =>
  `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token&subject_token=${t}`;
const post = (t: string) =>
  app.request('/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body(t),
  });
for (let i = 0; i < 50; i++) await post(tokens.pop()!); // warm up, fetch keys
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let ok = 0;
await Promise.all(
  Array.from({ length: 32 }, async () => {
    for (let t = tokens.pop(); t; t = tokens.pop()) if ((await post(t)).status === 200) ok++;
  }),
);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(
  `in-process: ${ok} exchanges in ${ms.toFixed(0)} ms = ${((ok / ms) * 1000).toFixed(0)}/s; CPU ${((cpu.user + cpu.system) / ok).toFixed(0)} us per exchange`,
);
await store.close();
await issuer.close();
rmSync(dir, { recursive: true, force: true });
