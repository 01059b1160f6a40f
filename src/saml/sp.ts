import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import type { Clock } from '../clock.js';
import type { Saml } from '../config/compile.js';
import { BrokerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';
import { checkAssertion, type VerifiedAssertion } from './assertion.js';
import { fromNodeSaml } from './errors.js';
import { IdpSource } from './idp-source.js';
import { EMAIL_NAME_ID, spMetadata, type IdpSettings } from './metadata.js';
import { StoreRequestCache } from './request-cache.js';
import { decodeBase64Xml, inspectResponse } from './response.js';

/** How long a login may take at the IdP (MFA enrolment included). */
const REQUEST_TTL_SECONDS = 30 * 60;

export interface SpDeps {
  saml: Saml;
  issuer: string;
  store: Store;
  clock: Clock;
  fetch: typeof fetch;
  logger: Logger;
}

/** What a SAML logout needs to name the IdP session. */
export interface IdpSessionRef {
  nameId: string;
  nameIdFormat: string | undefined;
  sessionIndex: string | undefined;
}

/**
 * The SAML service provider: node-saml does the signature work; our checks
 * run before it (on the whole document) and after it (on the assertion it
 * verified), on the broker's clock and with the broker's database.
 */
export class ServiceProvider {
  private readonly idp: IdpSource;
  private cached: { settings: IdpSettings; saml: SAML } | undefined;
  readonly sloCallbackUrl: string;

  constructor(private readonly deps: SpDeps) {
    this.idp = new IdpSource(deps.saml, deps.clock, deps.fetch, deps.logger);
    this.sloCallbackUrl = `${deps.issuer}/saml/slo`;
  }

  metadata(): string {
    return spMetadata(this.deps.saml, this.sloCallbackUrl);
  }

  async idpSettings(): Promise<IdpSettings> {
    return this.idp.get();
  }

  /** The IdP URL carrying a fresh AuthnRequest; its id is stored for InResponseTo. */
  async loginUrl(relayState: string): Promise<string> {
    const saml = await this.instance();
    return saml.getAuthorizeUrlAsync(relayState, undefined, {});
  }

  async logoutUrl(ref: IdpSessionRef, relayState: string): Promise<string | undefined> {
    const { settings, saml } = await this.instanceWithSettings();
    if (!settings.sloUrl) return undefined;
    const profile = {
      issuer: settings.entityId,
      nameID: ref.nameId,
      nameIDFormat: ref.nameIdFormat ?? EMAIL_NAME_ID,
      sessionIndex: ref.sessionIndex,
    } as Profile;
    return saml.getLogoutUrlAsync(profile, relayState, {});
  }

  /** Runs every check on a posted SAMLResponse; returns the verified assertion. */
  async consume(samlResponse: string): Promise<VerifiedAssertion> {
    const { settings, saml } = await this.instanceWithSettings();
    const cfg = this.deps.saml;
    const xml = decodeBase64Xml(samlResponse);
    const inspected = await inspectResponse(xml, {
      acsUrl: cfg.acsUrl,
      idpEntityId: settings.entityId,
      allowIdpInitiated: cfg.allowIdpInitiated,
    });
    let profile: Profile | null;
    try {
      ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (e) {
      throw fromNodeSaml(e, cfg);
    }
    const signed = profile?.getAssertionXml?.();
    if (!signed) {
      throw new BrokerError('saml_invalid', 'the SAML response carries no login: try again', {
        detail: { check: 'profile' },
      });
    }
    const assertion = await checkAssertion(signed, {
      acsUrl: cfg.acsUrl,
      idpEntityId: settings.entityId,
      inResponseTo: inspected.inResponseTo,
      time: {
        nowMs: this.deps.clock.now(),
        skewSeconds: cfg.clockSkewSeconds,
        maxAgeSeconds: cfg.maxAssertionAgeSeconds,
      },
    });
    // Each assertion is accepted once, until it could no longer be valid.
    const fresh = await this.deps.store.claimOnce(
      `saml:${settings.entityId}:${assertion.id}`,
      Math.ceil(assertion.validUntilMs / 1000),
    );
    if (!fresh) {
      throw new BrokerError(
        'saml_invalid',
        'this SAML assertion was already used to log in: start a new login from this site',
        { detail: { check: 'replay', assertionId: assertion.id } },
      );
    }
    return assertion;
  }

  private async instance(): Promise<SAML> {
    return (await this.instanceWithSettings()).saml;
  }

  private async instanceWithSettings(): Promise<{ settings: IdpSettings; saml: SAML }> {
    const settings = await this.idp.get();
    if (this.cached?.settings !== settings) {
      this.cached = { settings, saml: this.build(settings) };
    }
    return this.cached;
  }

  private build(idp: IdpSettings): SAML {
    const cfg = this.deps.saml;
    return new SAML({
      callbackUrl: cfg.acsUrl,
      issuer: cfg.entityId,
      audience: cfg.entityId,
      entryPoint: idp.ssoUrl,
      logoutUrl: idp.sloUrl ?? idp.ssoUrl,
      idpCert: idp.certs,
      // The assertion itself must be signed; a signed Response around an
      // unsigned assertion is refused. Response signatures are optional
      // because Okta, Entra ID and Google sign only the assertion by default.
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      // Time checks are ours (src/saml/time.ts): on the injected clock, with figures.
      acceptedClockSkewMs: -1,
      maxAssertionAgeMs: 0,
      validateInResponseTo: cfg.allowIdpInitiated
        ? ValidateInResponseTo.ifPresent
        : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_TTL_SECONDS * 1000,
      cacheProvider: new StoreRequestCache(this.deps.store, this.deps.clock, REQUEST_TTL_SECONDS),
      identifierFormat: EMAIL_NAME_ID,
      // node-saml asks for PasswordProtectedTransport by default, which makes
      // Entra ID refuse MFA and passwordless logins (AADSTS75011).
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      ...(cfg.signRequests
        ? { privateKey: cfg.spPrivateKey!, publicCert: cfg.spCertificate! }
        : {}),
    });
  }
}
