import { roleGrants, type CompiledRole } from '../../policy/roles.js';
import type { Grant, GrantInput, Verified } from '../grant.js';

export interface PersonInput extends GrantInput {
  /** The session's subject: the session is the proof, checked (with its CSRF field) by the page. */
  subject: string;
  /** The roles the person's IdP claims match now (sso.roles), matched on every request. */
  roles: readonly CompiledRole[];
}

/**
 * A person minting on their page after browser SSO: every role they match
 * grants its scopes, each with its own lifetime cap.
 */
export const personGrant: Grant<PersonInput, Verified & { roles: readonly CompiledRole[] }> = {
  source: 'web',
  names: 'policies',
  reader: 'person',

  async verify(input) {
    return { subject: input.subject, clientId: 'web', roles: input.roles };
  },

  entitle({ roles }) {
    return roleGrants(roles);
  },
};
