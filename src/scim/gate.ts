import type { Scim } from '../config/compile.js';
import type { Store } from '../store/types.js';

/**
 * Whether the organisation's directory lets a person log in, as SCIM left
 * it: a deactivated or deleted user is refused until the directory activates
 * (or creates) them again; with `scim.require_provisioned`, so is anyone it
 * never provisioned. Without `scim` in the config everyone the IdP asserts may.
 */
export type LoginStanding = 'allowed' | 'deprovisioned' | 'not_provisioned';

export async function loginStanding(
  store: Store,
  scim: Scim | undefined,
  subject: string,
): Promise<LoginStanding> {
  if (!scim) return 'allowed';
  const standing = await store.scimStanding(subject);
  if (!standing) return scim.requireProvisioned ? 'not_provisioned' : 'allowed';
  return standing.active ? 'allowed' : 'deprovisioned';
}

/** What the login page tells the person: they can do nothing here, so it says who can. */
export const STANDING_MESSAGE: Record<Exclude<LoginStanding, 'allowed'>, string> = {
  deprovisioned:
    "your access was removed by your organisation's directory: contact your administrator if you should still have it",
  not_provisioned:
    "your organisation's directory has not given you access to this broker yet: ask your administrator to assign it to you",
};
