import { generateServiceProviderMetadata } from '@node-saml/node-saml';
import type { Saml } from '../config/compile.js';
import { EMAIL_NAME_ID } from './identity.js';
import { NS, attr, children, parseXml, select, textOnly } from './xml.js';

/** What we need of the IdP, whether from its metadata or typed into the config. */
export interface IdpSettings {
  entityId: string;
  ssoUrl: string;
  /** Every signing certificate (base64 DER), so a rotation in progress keeps working. */
  certs: string[];
  sloUrl: string | undefined;
}

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export class MetadataError extends Error {
  override readonly name = 'MetadataError';
}

/** Parses IdP metadata (an EntityDescriptor, or an EntitiesDescriptor holding one IdP). */
export async function parseIdpMetadata(xml: string): Promise<IdpSettings> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw new MetadataError('IdP metadata must not contain a DOCTYPE');
  }
  const doc = await parseXml(xml);
  if (!doc) throw new MetadataError('IdP metadata is not well-formed XML');
  const idps = select(doc, "//*[local-name()='IDPSSODescriptor']").filter(
    (e) => e.namespaceURI === NS.metadata,
  );
  if (idps.length !== 1) {
    throw new MetadataError(
      `IdP metadata must describe exactly one IdP (IDPSSODescriptor); it describes ${idps.length}`,
    );
  }
  const idp = idps[0]!;
  const entity = idp.parentNode as Element;
  const entityId = attr(entity, 'entityID');
  if (!entityId) throw new MetadataError('IdP metadata has no entityID');

  const location = (tag: string) =>
    children(idp, NS.metadata, tag)
      .find((s) => attr(s, 'Binding') === REDIRECT)
      ?.getAttribute('Location') ?? undefined;
  const ssoUrl = location('SingleSignOnService');
  if (!ssoUrl) {
    throw new MetadataError(
      'IdP metadata offers no SingleSignOnService with the HTTP-Redirect binding',
    );
  }
  const certs: string[] = [];
  for (const kd of children(idp, NS.metadata, 'KeyDescriptor')) {
    const use = attr(kd, 'use');
    if (use !== undefined && use !== 'signing') continue;
    for (const c of select(kd, ".//*[local-name()='X509Certificate']")) {
      const text = textOnly(c)?.replace(/\s+/g, '');
      if (text && !certs.includes(text)) certs.push(text);
    }
  }
  if (certs.length === 0) throw new MetadataError('IdP metadata holds no signing certificate');
  return { entityId, ssoUrl, certs, sloUrl: location('SingleLogoutService') };
}

/**
 * The IdP from metadata_file, or undefined when its text was not read (only
 * the Node loader reads files). Parsed once per loaded config: the start-up
 * check and the first login share the result.
 */
const fromFile = new WeakMap<Saml['idp'], Promise<IdpSettings>>();

export function idpFromMetadataFile(idp: Saml['idp']): Promise<IdpSettings> | undefined {
  if (idp.metadataXml === undefined) return undefined;
  let settings = fromFile.get(idp);
  if (!settings) {
    settings = parseIdpMetadata(idp.metadataXml);
    fromFile.set(idp, settings);
  }
  return settings;
}

/** The IdP as typed into the config (entity_id + entry_point + certs). */
export function idpFromConfig(saml: Saml): IdpSettings {
  return {
    entityId: saml.idp.entityId!,
    ssoUrl: saml.idp.entryPoint!,
    certs: saml.idp.certs.map(stripPem),
    sloUrl: saml.idp.sloUrl,
  };
}

function stripPem(cert: string): string {
  return cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** SP metadata an IdP admin can import as is. */
export function spMetadata(saml: Saml, sloCallbackUrl: string | undefined): string {
  return generateServiceProviderMetadata({
    issuer: saml.entityId,
    callbackUrl: saml.acsUrl,
    logoutCallbackUrl: sloCallbackUrl,
    identifierFormat: EMAIL_NAME_ID,
    wantAssertionsSigned: true,
    ...(saml.signRequests
      ? {
          privateKey: saml.spPrivateKey!,
          publicCerts: [saml.spCertificate!],
          signatureAlgorithm: 'sha256' as const,
          digestAlgorithm: 'sha256',
        }
      : {}),
  });
}
