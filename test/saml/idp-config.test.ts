import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { parseConfig, type ConfigError } from '../../src/config/load.js';
import { loadConfigFile } from '../../src/node/config-file.js';
import { checkSamlMetadataFile } from '../../src/node/saml-metadata.js';
import { idpFromMetadataFile } from '../../src/saml/metadata.js';
import { hubSecretSha256, startBroker, tempDir, testConfigObject } from '../helpers/broker.js';
import { startSamlBroker, type SamlTestBroker } from '../helpers/saml-broker.js';
import { IDP_ENTITY_ID, IDP_SSO_URL, TestIdp } from '../helpers/saml-idp.js';
import { selfSignedCert } from '../helpers/x509.js';
import { runCli } from '../helpers/cli.js';

let t: SamlTestBroker | undefined;
afterEach(() => t?.cleanup());

const configErrors = (sso: unknown) => {
  try {
    parseConfig(stringify(testConfigObject({ sso })), {
      env: { HUB_SECRET_SHA256: 'a'.repeat(64) },
    });
    return [];
  } catch (e) {
    return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
};

describe('where the IdP settings come from', () => {
  it('reads metadata_url through the injected fetch: entity id, SSO URL and signing certs', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
    const idp = new TestIdp(() => clock.now());
    const fetched: string[] = [];
    const fetchImpl = (async (url: string) => {
      fetched.push(String(url));
      return new Response(idp.metadataXml(), {
        headers: { 'Content-Type': 'application/samlmetadata+xml' },
      });
    }) as typeof fetch;
    const { startBroker, testConfig } = await import('../helpers/broker.js');
    const config = await testConfig({
      sso: {
        saml: { idp: { metadata_url: 'https://idp.test/app/metadata' } },
        roles: [{ name: 'all', when: { email: '*@example.com' }, grant: ['read:**'] }],
      },
    });
    const broker = await startBroker({ config, clock, fetch: fetchImpl });
    const res = await broker.app.request('/saml/login');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^https:\/\/idp\.test\/sso\?SAMLRequest=/);
    expect(fetched).toEqual(['https://idp.test/app/metadata']);
    await broker.cleanup();
  });

  it.each([
    ['http://idp.example.com/app/metadata', false],
    ['http://127.0.0.1.evil.test/metadata', false],
    ['http://127.0.0.1:9000/metadata', true],
    ['http://localhost:9000/metadata', true],
    ['http://[::1]:9000/metadata', true],
    ['https://idp.example.com/app/metadata', true],
  ])('accepts metadata_url %s over http only from loopback: %s', (url, ok) => {
    const errors = configErrors({ saml: { idp: { metadata_url: url } } }).join('\n');
    if (ok) expect(errors).toBe('');
    else {
      expect(errors).toMatch(
        /sso.saml.idp.metadata_url: expected an https URL: IdP metadata is unsigned, so over plain http anyone on the network path could replace the IdP certificate/,
      );
    }
  });

  const metadataBroker = async (answer: () => Response) => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
    const inits: RequestInit[] = [];
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      inits.push(init);
      return answer();
    }) as typeof fetch;
    const { startBroker, testConfig } = await import('../helpers/broker.js');
    const config = await testConfig({
      sso: {
        saml: { idp: { metadata_url: 'https://idp.test/app/metadata' } },
        roles: [{ name: 'all', when: { email: '*@example.com' }, grant: ['read:**'] }],
      },
    });
    return { broker: await startBroker({ config, clock, fetch: fetchImpl }), inits };
  };

  it('refuses to follow a redirect from metadata_url (it could hand the certificate to another host)', async () => {
    const evil = new TestIdp(() => Date.now(), 'https://idp.test/metadata');
    let served = false;
    const { broker, inits } = await metadataBroker(() => {
      // A fetch that ignored redirect: 'manual' would get the swapped metadata.
      if (inits.at(-1)?.redirect !== 'manual') {
        served = true;
        return new Response(evil.metadataXml());
      }
      return new Response(null, {
        status: 302,
        headers: { Location: 'https://evil.test/metadata' },
      });
    });
    try {
      const res = await broker.app.request('/saml/login');
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('answered with a redirect (302), which is refused');
      expect(served).toBe(false);
      expect(inits[0]!.redirect).toBe('manual');
    } finally {
      await broker.cleanup();
    }
  });

  it('stops reading metadata past 1 MiB while it streams, whatever Content-Length says', async () => {
    let pulled = 0;
    const { broker } = await metadataBroker(() => {
      const chunk = new TextEncoder().encode(`<x>${'a'.repeat(64 * 1024)}</x>`);
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          if (pulled > 1000) controller.close();
          else controller.enqueue(chunk);
        },
      });
      return new Response(body, { headers: { 'Content-Type': 'application/xml' } });
    });
    try {
      const res = await broker.app.request('/saml/login');
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('more than the 1048576 bytes allowed');
      expect(pulled).toBeLessThan(40);
    } finally {
      await broker.cleanup();
    }
  });

  it('reads metadata_file next to the config file in the Node loader', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const idp = new TestIdp(() => Date.now());
      writeFileSync(join(dir, 'idp.xml'), idp.metadataXml());
      const path = join(dir, 'tokenbroker.yaml');
      writeFileSync(
        path,
        stringify(testConfigObject({ sso: { saml: { idp: { metadata_file: './idp.xml' } } } })),
      );
      const { config } = loadConfigFile(path, { HUB_SECRET_SHA256: await hubSecretSha256() });
      expect(config.sso?.saml?.idp.metadataXml).toContain(idp.keys.certBase64);

      writeFileSync(
        path,
        stringify(testConfigObject({ sso: { saml: { idp: { metadata_file: './nope.xml' } } } })),
      );
      expect(() => loadConfigFile(path, { HUB_SECRET_SHA256: 'a'.repeat(64) })).toThrow(
        /metadata_file.*file not found/s,
      );
    } finally {
      cleanup();
    }
  });

  it('logs in with the IdP from metadata_file, parsed once for the start-up check and the login', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const idp = new TestIdp(() => Date.now());
      writeFileSync(join(dir, 'idp.xml'), idp.metadataXml());
      const path = join(dir, 'tokenbroker.yaml');
      writeFileSync(
        path,
        stringify(testConfigObject({ sso: { saml: { idp: { metadata_file: './idp.xml' } } } })),
      );
      const { config } = loadConfigFile(path, { HUB_SECRET_SHA256: await hubSecretSha256() });
      await checkSamlMetadataFile(config, path);
      const parsed = idpFromMetadataFile(config.sso!.saml!.idp);
      const broker = await startBroker({ config });
      try {
        const res = await broker.app.request('/saml/login');
        expect(res.status).toBe(302);
        expect(res.headers.get('location')).toContain(`${IDP_SSO_URL}?SAMLRequest=`);
        expect(idpFromMetadataFile(config.sso!.saml!.idp)).toBe(parsed);
      } finally {
        await broker.cleanup();
      }
    } finally {
      cleanup();
    }
  });

  it('reports broken metadata_file content at config check, not at the first login', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'idp.xml'), '<EntityDescriptor entityID="x"/>');
      writeFileSync(
        join(dir, 'tokenbroker.yaml'),
        stringify(testConfigObject({ sso: { saml: { idp: { metadata_file: './idp.xml' } } } })),
      );
      const r = await runCli(['config', 'check'], {
        cwd: dir,
        env: { HUB_SECRET_SHA256: 'a'.repeat(64) },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "sso.saml.idp.metadata_file: IdP metadata must describe exactly one IdP (IDPSSODescriptor); it describes 0: download the IdP's metadata XML again",
      );
    } finally {
      cleanup();
    }
  });

  it('accepts assertions signed by any configured certificate (rotation)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
    const idp = new TestIdp(() => clock.now());
    const old = selfSignedCert('old-idp-cert');
    t = await startSamlBroker({
      clock,
      idp,
      saml: {
        idp: {
          entity_id: IDP_ENTITY_ID,
          entry_point: IDP_SSO_URL,
          certs: [old.certPem, idp.keys.certBase64],
        },
      },
    });
    const { id } = await t.startLogin();
    expect((await t.postAcs(t.response({ inResponseTo: id }))).status).toBe(303);
    const next = await t.startLogin();
    expect((await t.postAcs(t.response({ inResponseTo: next.id, key: old }))).status).toBe(303);
  });

  it('signs AuthnRequests with RSA-SHA256 and publishes the SP certificate when sign_requests is on', async () => {
    const sp = selfSignedCert('sp');
    t = await startSamlBroker({
      saml: { sign_requests: true, sp_private_key: sp.privateKeyPem, sp_certificate: sp.certPem },
    });
    const location = new URL((await t.broker.app.request('/saml/login')).headers.get('location')!);
    expect(location.searchParams.get('SigAlg')).toBe(
      'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    );
    expect(location.searchParams.get('Signature')).toBeTruthy();
    const metadata = await (await t.broker.app.request('/saml/metadata')).text();
    expect(metadata).toContain('AuthnRequestsSigned="true"');
    expect(metadata).toContain(sp.certBase64.slice(0, 40));
  });

  it.each([
    [{ saml: { idp: {} } }, /sso.saml.idp.entity_id: required without metadata_file/],
    [
      { saml: { idp: { metadata_file: 'a.xml', metadata_url: 'https://idp.test/m' } } },
      /sso.saml.idp: give the IdP as exactly one of/,
    ],
    [
      { saml: { idp: { metadata_url: 'https://idp.test/m' }, sign_requests: true } },
      /sso.saml.sign_requests: signing requests needs sp_private_key and sp_certificate/,
    ],
    [
      { saml: { idp: { metadata_url: 'https://idp.test/m' }, clock_skew: 'soon' } },
      /sso.saml.clock_skew: expected a duration/,
    ],
  ])('refuses a bad sso.saml config with the path and what to do (%#)', (sso, message) => {
    expect(configErrors(sso).join('\n')).toMatch(message);
  });
});
