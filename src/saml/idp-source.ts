import type { Clock } from '../shared/clock.js';
import type { Saml } from '../config/compile.js';
import { BrokerError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { fetchCapped } from '../shared/fetch-json.js';
import {
  idpFromConfig,
  idpFromMetadataFile,
  parseIdpMetadata,
  type IdpSettings,
} from './metadata.js';

/** Metadata from a URL is re-read this often, so a certificate rotation reaches us. */
const REFRESH_MS = 60 * 60 * 1000;
const MAX_METADATA_BYTES = 1024 * 1024;

/**
 * The IdP's settings, from the config, from metadata_file (read by the Node
 * loader into `metadataXml`), or from metadata_url through the injected
 * fetch. A failed refresh keeps the last good metadata.
 */
export class IdpSource {
  private current: IdpSettings | undefined;
  private fetchedAt = 0;
  private pending: Promise<IdpSettings> | undefined;

  constructor(
    private readonly saml: Saml,
    private readonly clock: Clock,
    private readonly fetchImpl: typeof fetch,
    private readonly logger: Logger,
  ) {}

  async get(): Promise<IdpSettings> {
    const { idp } = this.saml;
    if (this.current && (!idp.metadataUrl || this.clock.now() - this.fetchedAt < REFRESH_MS)) {
      return this.current;
    }
    this.pending ??= this.load().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async load(): Promise<IdpSettings> {
    const { idp } = this.saml;
    if (idp.metadataUrl) {
      try {
        this.current = await this.fetchMetadata(idp.metadataUrl);
        this.fetchedAt = this.clock.now();
      } catch (e) {
        if (!this.current) {
          throw new BrokerError(
            'unavailable',
            `the IdP metadata could not be read from ${idp.metadataUrl} (${(e as Error).message}): check sso.saml.idp.metadata_url, or try again`,
            { cause: e },
          );
        }
        this.logger.warn('IdP metadata refresh failed; keeping the last good one', {
          url: idp.metadataUrl,
          error: (e as Error).message,
        });
        this.fetchedAt = this.clock.now();
      }
      return this.current;
    }
    if (idp.metadataFile) {
      const fromFile = idpFromMetadataFile(idp);
      if (!fromFile) {
        throw new BrokerError(
          'unavailable',
          'sso.saml.idp.metadata_file is read by the Node entry point only: on Workers use metadata_url, or entity_id + entry_point + certs',
        );
      }
      this.current = await fromFile;
      return this.current;
    }
    this.current = idpFromConfig(this.saml);
    return this.current;
  }

  private async fetchMetadata(url: string): Promise<IdpSettings> {
    // Redirects refused (a redirect could hand the certificate choice to
    // another host) and the body capped while it streams in.
    const { text } = await fetchCapped(this.fetchImpl, url, {
      accept: 'application/samlmetadata+xml, application/xml, text/xml',
      maxBytes: MAX_METADATA_BYTES,
      timeoutMs: 10_000,
    });
    return parseIdpMetadata(text);
  }
}
