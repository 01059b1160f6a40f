import { formatDuration } from '../protocol/duration.js';
import { BrokerError } from '../shared/errors.js';
import { refuse, type SamlKind } from './checks.js';

/**
 * The time checks of an assertion, on the broker's injected clock (node-saml
 * reads the system clock and says only "not yet valid" or "expired", so its
 * own checks are turned off and these replace them). Clock drift between the
 * IdP and the broker is the most common cause of refused logins, so a refusal
 * says by how much and in which direction, and the audit row keeps the figures.
 */
interface TimeWindow {
  /** Where the bounds come from, e.g. `Conditions` or `SubjectConfirmationData`. */
  element: string;
  notBefore?: string | undefined;
  notOnOrAfter?: string | undefined;
}

export interface TimePolicy {
  nowMs: number;
  skewSeconds: number;
  maxAgeSeconds: number | undefined;
  /** Where the age limit comes from, as a refusal names it. */
  maxAgeName: string;
  /** What is checked: an assertion or a logout request. */
  kind: SamlKind;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function parseInstant(value: string, what: string, kind: SamlKind): number {
  // xs:dateTime as SAML uses it: UTC with a Z (or an offset).
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value)
    ? Date.parse(value)
    : NaN;
  if (Number.isNaN(ms)) {
    throw refuse(
      `the ${what} of ${kind.signed} is not a valid time (xs:dateTime in UTC): ask the IdP admin to check the IdP's SAML settings`,
      { check: what, value: value.slice(0, 64) },
      kind,
    );
  }
  return ms;
}

function skewHint(skewSeconds: number): string {
  return `raise sso.saml.clock_skew (now ${formatDuration(skewSeconds)})`;
}

export function checkWindow(w: TimeWindow, p: TimePolicy): void {
  const skewMs = p.skewSeconds * 1000;
  if (w.notBefore !== undefined) {
    const nb = parseInstant(w.notBefore, `${w.element} NotBefore`, p.kind);
    if (p.nowMs + skewMs < nb) {
      const ahead = (nb - p.nowMs) / 1000;
      throw new BrokerError(
        'saml_clock',
        `${p.kind.signed} became valid ${formatDuration(ahead)} after this server's clock: the IdP's clock is ahead (ask the IdP admin to sync it), or ${skewHint(p.skewSeconds)}`,
        {
          detail: {
            ...p.kind.detail,
            check: `${w.element}/@NotBefore`,
            notBefore: w.notBefore,
            serverTime: iso(p.nowMs),
            driftSeconds: Math.round(ahead),
            direction: 'idp_ahead',
            clockSkewSeconds: p.skewSeconds,
          },
        },
      );
    }
  }
  if (w.notOnOrAfter !== undefined) {
    const noa = parseInstant(w.notOnOrAfter, `${w.element} NotOnOrAfter`, p.kind);
    if (p.nowMs - skewMs >= noa) {
      const behind = (p.nowMs - noa) / 1000;
      throw new BrokerError(
        'saml_clock',
        `${p.kind.signed} expired ${formatDuration(behind)} before this server's clock: ${p.kind.retry}; if it keeps happening the IdP's clock is behind, or ${skewHint(p.skewSeconds)}`,
        {
          detail: {
            ...p.kind.detail,
            check: `${w.element}/@NotOnOrAfter`,
            notOnOrAfter: w.notOnOrAfter,
            serverTime: iso(p.nowMs),
            driftSeconds: -Math.round(behind),
            direction: 'idp_behind_or_slow_login',
            clockSkewSeconds: p.skewSeconds,
          },
        },
      );
    }
  }
}

/** IssueInstant must be neither in the future nor older than the policy's maxAgeSeconds. */
export function checkIssueInstant(issueInstant: string, p: TimePolicy): number {
  const issued = parseInstant(issueInstant, 'IssueInstant', p.kind);
  checkWindow({ element: `${p.kind.element} IssueInstant`, notBefore: issueInstant }, p);
  if (p.maxAgeSeconds !== undefined) {
    const age = (p.nowMs - issued) / 1000;
    if (age - p.skewSeconds >= p.maxAgeSeconds) {
      throw new BrokerError(
        'saml_clock',
        `${p.kind.signed} was issued ${formatDuration(age)} ago, more than ${p.maxAgeName} (${formatDuration(p.maxAgeSeconds)}): ${p.kind.retry}; if it keeps happening the IdP's clock is behind, or ${skewHint(p.skewSeconds)}`,
        {
          detail: {
            ...p.kind.detail,
            check: `${p.kind.element}/@IssueInstant`,
            issueInstant,
            serverTime: iso(p.nowMs),
            ageSeconds: Math.round(age),
            maxAgeSeconds: p.maxAgeSeconds,
            clockSkewSeconds: p.skewSeconds,
          },
        },
      );
    }
  }
  return issued;
}
