import { createHash } from 'node:crypto';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/compile.js';
import { compileTrust, type Trust } from '../policy/compile.js';
import { DEMO_REPOSITORY, DEMO_REPOSITORY_ID } from './ci-issuer.js';

/**
 * The demo's config, as a person would write it for their own broker: it
 * goes through the same loader and checks as a tokenbroker.yaml. The values
 * only known at start (the URL, the IdP's certificate) come in as `${NAME}`.
 * `database` is relative, so it lands under the working folder.
 */
export const DEMO_CONFIG = `
issuer: '\${DEMO_URL}'
listen: { host: '\${DEMO_HOST}', port: '\${DEMO_PORT}' }
database: ./data/demo.db

tokens:
  audience: https://hub.example.com
  default_ttl: 15m
  max_ttl: 1h

resource_servers:
  # /introspect as hub, with the secret \`demo-hub-secret\`.
  - client_id: hub
    client_secret_sha256: '\${DEMO_HUB_SECRET_SHA256}'

ci:
  providers:
    - name: demo-ci
      kind: github
      issuer: '\${DEMO_URL}/demo'
      audiences: ['\${DEMO_URL}']
  policies:
    - name: acme-models-main
      provider: demo-ci
      match:
        repository_id: '${DEMO_REPOSITORY_ID}'
        repository: ${DEMO_REPOSITORY}
        ref: refs/heads/main
      grant: ['write:models/acme/*', 'read:datasets/acme/**']
      max_ttl: 30m
    - name: acme-models-features
      provider: demo-ci
      match:
        repository_id: '${DEMO_REPOSITORY_ID}'
        repository: ${DEMO_REPOSITORY}
        ref: 'refs/heads/feature/*'
      grant: ['read:models/acme/*']

sso:
  saml:
    idp:
      entity_id: '\${DEMO_URL}/demo/saml/metadata'
      entry_point: '\${DEMO_URL}/demo/saml/sso'
      certs: ['\${DEMO_IDP_CERT}']
  roles:
    - name: ml-engineers
      when: { groups: ml-engineers }
      grant: ['write:models/acme/*', 'read:models/acme/*', 'read:datasets/acme/**']
      max_ttl: 1h
    - name: analysts
      when: { groups: analysts }
      grant: ['read:models/acme/*', 'read:datasets/acme/**']
`;

export const DEMO_HUB_SECRET = 'demo-hub-secret';

export interface DemoConfig {
  config: Config;
  trust: Trust;
}

/** The demo config for a broker at `url` trusting the IdP certificate `idpCertPem`. */
export function demoConfig(o: {
  url: string;
  host: string;
  port: number;
  idpCertPem: string;
}): DemoConfig {
  const source = 'the demo config (src/demo/config.ts)';
  const config = parseConfig(DEMO_CONFIG, {
    source,
    env: {
      DEMO_URL: o.url,
      DEMO_HOST: o.host,
      DEMO_PORT: String(o.port),
      DEMO_IDP_CERT: o.idpCertPem,
      DEMO_HUB_SECRET_SHA256: createHash('sha256').update(DEMO_HUB_SECRET).digest('hex'),
    },
  });
  return { config, trust: compileTrust(config, source) };
}
