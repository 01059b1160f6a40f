import { SAML, ValidateInResponseTo, type Profile, type SamlConfig } from '@node-saml/node-saml';
import type { Clock } from '../shared/clock.js';
import type { Saml } from '../config/compile.js';
import type { Logger } from '../shared/log.js';
import type { Store } from '../store/types.js';
import { checkAssertion, type VerifiedAssertion } from './assertion.js';
import { LOGIN, LOGOUT, refuse } from './checks.js';
import { fromNodeSaml } from './errors.js';
import { EMAIL_NAME_ID } from './identity.js';
import { IdpSource } from './idp-source.js';
import { spMetadata, type IdpSettings } from './metadata.js';
import { LOGIN_TTL_SECONDS, type PendingLogin } from './login-binding.js';
import { inspectLogoutRequest, readLogoutRequest, type LogoutRequest } from './logout.js';
import { decodeBase64Xml, inspectResponse } from './response.js';

interface SpDeps {
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
  private readonly sloCallbackUrl: string;
  private metadataXml: string | undefined;

  constructor(private readonly deps: SpDeps) {
    this.idp = new IdpSource(deps.saml, deps.clock, deps.fetch, deps.logger);
    this.sloCallbackUrl = `${deps.issuer}/saml/slo`;
  }

  /** SP metadata depends on the config only, so it is built once, at the first request. */
  metadata(): string {
    this.metadataXml ??= spMetadata(this.deps.saml, this.sloCallbackUrl);
    return this.metadataXml;
  }

  async idpSettings(): Promise<IdpSettings> {
    return this.idp.get();
  }

  /**
   * The IdP URL carrying an AuthnRequest with this id (from LoginBinding,
   * which keeps it in the browser's cookie for InResponseTo).
   */
  async loginUrl(relayState: string, requestId: string): Promise<string> {
    const settings = await this.idp.get();
    // A SAML instance of its own, so the id cannot leak into a concurrent login.
    const saml = new SAML({ ...this.options(settings), generateUniqueId: () => requestId });
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

  /**
   * Runs every check on a posted SAMLResponse; returns the verified
   * assertion. `bound` must confirm that this browser started the login the
   * response answers (see LoginBinding); an unsolicited response (allowed
   * only with allow_idp_initiated) has no login to bind to.
   */
  async consume(
    samlResponse: string,
    bound: (inResponseTo: string) => PendingLogin,
  ): Promise<VerifiedAssertion> {
    const { settings, saml } = await this.instanceWithSettings();
    const cfg = this.deps.saml;
    const xml = decodeBase64Xml(samlResponse);
    const inResponseTo = await inspectResponse(xml, {
      acsUrl: cfg.acsUrl,
      idpEntityId: settings.entityId,
      allowIdpInitiated: cfg.allowIdpInitiated,
    });
    const pending = inResponseTo ? bound(inResponseTo) : undefined;
    let profile: Profile | null;
    try {
      ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (e) {
      throw fromNodeSaml(e, cfg);
    }
    const signed = profile?.getAssertionXml?.();
    if (!signed) {
      throw refuse(`the SAML response carries no login: ${LOGIN.retry}`, { check: 'profile' });
    }
    const assertion = await checkAssertion(signed, {
      acsUrl: cfg.acsUrl,
      idpEntityId: settings.entityId,
      inResponseTo,
      time: {
        nowMs: this.deps.clock.now(),
        skewSeconds: cfg.clockSkewSeconds,
        maxAgeSeconds: cfg.maxAssertionAgeSeconds,
        maxAgeName: 'sso.saml.max_assertion_age',
        kind: LOGIN,
      },
    });
    // Each assertion is accepted once, until it could no longer be valid.
    const fresh = await this.deps.store.claimOnce(
      `saml:${settings.entityId}:${assertion.id}`,
      Math.ceil(assertion.validUntilMs / 1000),
    );
    if (!fresh) {
      throw refuse(
        `this SAML assertion was already used to log in: ${LOGIN.retry} (the browser's back button resends a used one)`,
        { check: 'replay', assertionId: assertion.id },
      );
    }
    // And each login request is answered once: written only now, after the
    // signature checks, so no unauthenticated request adds a row.
    if (
      pending &&
      !(await this.deps.store.claimOnce(
        `saml-request:${pending.id}`,
        pending.startedAt + LOGIN_TTL_SECONDS,
      ))
    ) {
      throw refuse(`this login request was already answered: ${LOGIN.retry}`, {
        check: 'request_replay',
        requestId: pending.id,
      });
    }
    return assertion;
  }

  /**
   * Checks an IdP's LogoutRequest (HTTP-Redirect binding: `query` and the
   * raw query string; HTTP-POST binding: `post`): our structural, issuer,
   * time and replay checks, and node-saml's signature check. A signature is
   * required in both bindings (node-saml accepts an unsigned redirect).
   */
  async logoutRequest(
    input:
      | { binding: 'redirect'; query: Record<string, string>; rawQuery: string }
      | { binding: 'post'; samlRequest: string },
  ): Promise<LogoutRequest> {
    const { settings, saml } = await this.instanceWithSettings();
    const cfg = this.deps.saml;
    const xml = await readLogoutRequest(input);
    const request = await inspectLogoutRequest(xml, {
      binding: input.binding,
      idpEntityId: settings.entityId,
      sloUrl: this.sloCallbackUrl,
      nowMs: this.deps.clock.now(),
      skewSeconds: cfg.clockSkewSeconds,
    });
    try {
      if (input.binding === 'redirect') {
        await saml.validateRedirectAsync(input.query, input.rawQuery);
      } else {
        await saml.validatePostRequestAsync({ SAMLRequest: input.samlRequest });
      }
    } catch (e) {
      throw fromNodeSaml(e, cfg, LOGOUT);
    }
    const fresh = await this.deps.store.claimOnce(
      `saml-logout:${settings.entityId}:${request.id}`,
      Math.ceil(request.validUntilMs / 1000),
    );
    if (!fresh) {
      throw refuse(
        'this logout request was already handled, so the sessions it names have ended: nothing more to do here; to log out again, log out at the IdP',
        { check: 'replay', requestId: request.id },
        LOGOUT,
      );
    }
    return request;
  }

  /** The IdP URL carrying our LogoutResponse, or undefined when the IdP gave no SLO URL. */
  async logoutResponseUrl(
    request: LogoutRequest,
    relayState: string | undefined,
    success: boolean,
  ): Promise<string | undefined> {
    const { settings, saml } = await this.instanceWithSettings();
    if (!settings.sloUrl) return undefined;
    return saml.getLogoutResponseUrlAsync(
      { ID: request.id, issuer: settings.entityId } as Profile,
      relayState ?? '',
      {},
      success,
    );
  }

  private async instanceWithSettings(): Promise<{ settings: IdpSettings; saml: SAML }> {
    const settings = await this.idp.get();
    if (this.cached?.settings !== settings) {
      this.cached = { settings, saml: new SAML(this.options(settings)) };
    }
    return this.cached;
  }

  private options(idp: IdpSettings): SamlConfig {
    const cfg = this.deps.saml;
    return {
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
      // InResponseTo is ours too: the request id lives in the browser's
      // cookie (LoginBinding), checked against the Response and the
      // SubjectConfirmationData (src/saml/response.ts, assertion.ts).
      validateInResponseTo: ValidateInResponseTo.never,
      identifierFormat: EMAIL_NAME_ID,
      // node-saml asks for PasswordProtectedTransport by default, which makes
      // Entra ID refuse MFA and passwordless logins (AADSTS75011).
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      ...(cfg.signRequests
        ? { privateKey: cfg.spPrivateKey!, publicCert: cfg.spCertificate! }
        : {}),
    };
  }
}
