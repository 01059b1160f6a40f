import { nowSeconds, type Clock } from '../shared/clock.js';
import { BrokerError } from '../shared/errors.js';
import { asciiLower } from '../shared/show.js';
import type { AuditEvent, ScimUser, ScimWrite, Store } from '../store/types.js';
import { parseFilter } from './filter.js';
import { applyPatch } from './patch.js';
import { readUser, type UserFields } from './user.js';

/**
 * The Users of SCIM provisioning: what a directory (Okta, Entra ID) creates,
 * reads, replaces, patches and deletes, on the Store. A write that takes a
 * person's access away (deactivated, deleted, or moved to another email)
 * ends that person's sessions and tokens in the same transaction.
 */

/** Who asked, for the audit rows. */
export interface Caller {
  clientAddress: string | null;
  userAgent: string | null;
}

export interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
}

export interface ListPage {
  total: number;
  /** 1-based, as SCIM counts. */
  startIndex: number;
  users: ScimUser[];
}

/** RFC 7644 section 3.4.2.4: the server caps `count`; ServiceProviderConfig says so. */
export const MAX_RESULTS = 200;
/** A stored User stays small whatever PATCHes pile onto it. */
const MAX_RESOURCE_BYTES = 64 * 1024;
/** Concurrent writes to one user: re-read and re-apply this many times before asking to retry. */
const ATTEMPTS = 3;

const notFound = (id: string) =>
  new BrokerError(
    'not_found',
    `no user has id ${JSON.stringify(id.slice(0, 100))}: it was deleted or never created here; find users with GET /scim/v2/Users?filter=userName eq "..."`,
  );

export class ScimUsers {
  constructor(
    private readonly o: {
      store: Store;
      clock: Clock;
      /** Told how many tokens a write revoked (for metrics). */
      revoked?: (count: number) => void;
    },
  ) {}

  async get(id: string): Promise<ScimUser> {
    const user = await this.o.store.getScimUser(id);
    if (!user) throw notFound(id);
    return user;
  }

  async list(q: ListQuery): Promise<ListPage> {
    const startIndex = Math.max(1, integer(q.startIndex, 'startIndex') ?? 1);
    const count = Math.min(MAX_RESULTS, Math.max(0, integer(q.count, 'count') ?? MAX_RESULTS));
    const filter = q.filter === undefined ? {} : storeFilter(q.filter);
    const { total, users } = await this.o.store.listScimUsers({
      ...filter,
      offset: startIndex - 1,
      limit: count,
    });
    return { total, startIndex, users };
  }

  async create(body: unknown, caller: Caller): Promise<ScimUser> {
    const fields = checked(readUser(body));
    const at = nowSeconds(this.o.clock);
    const user: ScimUser = {
      ...fields,
      id: crypto.randomUUID(),
      createdAt: at,
      lastModified: at,
      version: 1,
    };
    // A person created inactive loses whatever access they had before the directory spoke.
    const endAccess = user.active ? [] : [user.subject];
    await this.write(
      {
        op: 'create',
        user,
        endAccess,
        at,
        audit: this.audit('scim.user.created', user, at, caller),
      },
      user,
    );
    return user;
  }

  async replace(id: string, body: unknown, caller: Caller): Promise<ScimUser> {
    return this.update(id, caller, (before) => readUser(body, before.active));
  }

  async patch(id: string, body: unknown, caller: Caller): Promise<ScimUser> {
    return this.update(id, caller, (before) =>
      readUser(applyPatch(before.resource, body), before.active),
    );
  }

  async delete(id: string, caller: Caller): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.get(id);
      const at = nowSeconds(this.o.clock);
      const outcome = await this.o.store.writeScimUser({
        op: 'delete',
        id,
        readVersion: before.version,
        endAccess: [before.subject],
        at,
        audit: this.audit('scim.user.deleted', before, at, caller),
      });
      if (outcome.outcome === 'written') {
        if (outcome.revoked.length) this.o.revoked?.(outcome.revoked.length);
        return;
      }
      if (outcome.outcome === 'not_found') throw notFound(id);
      if (attempt >= ATTEMPTS) throw busy();
    }
  }

  private async update(
    id: string,
    caller: Caller,
    next: (before: ScimUser) => UserFields,
  ): Promise<ScimUser> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.get(id);
      const fields = checked(next(before));
      const at = nowSeconds(this.o.clock);
      const user: ScimUser = {
        ...before,
        ...fields,
        lastModified: at,
        version: before.version + 1,
      };
      const endAccess = new Set<string>();
      // The directory no longer vouches for the person this user was.
      if (before.subject !== user.subject) endAccess.add(before.subject);
      if (!user.active && (before.active || before.subject !== user.subject))
        endAccess.add(user.subject);
      const event =
        before.active && !user.active
          ? 'scim.user.deactivated'
          : !before.active && user.active
            ? 'scim.user.activated'
            : 'scim.user.updated';
      const write: ScimWrite = {
        op: 'replace',
        user,
        readVersion: before.version,
        endAccess: [...endAccess],
        at,
        audit: this.audit(
          event,
          user,
          at,
          caller,
          before.subject !== user.subject ? { previous_subject: before.subject } : {},
        ),
      };
      const outcome = await this.write(write, user);
      if (outcome === 'written') return user;
      if (attempt >= ATTEMPTS) throw busy();
    }
  }

  /** 'stale' when another write to the user came first; conflicts are refused here. */
  private async write(write: ScimWrite, user: ScimUser): Promise<'written' | 'stale'> {
    const outcome = await this.o.store.writeScimUser(write);
    switch (outcome.outcome) {
      case 'written':
        if (outcome.revoked.length) this.o.revoked?.(outcome.revoked.length);
        return outcome.outcome;
      case 'stale':
        return outcome.outcome;
      case 'not_found':
        throw notFound(user.id);
      case 'conflict':
        throw outcome.attribute === 'subject'
          ? new BrokerError(
              'scim_uniqueness',
              `another user already maps to the person ${user.subject} (from its primary email, else its userName): each person is one user; update that user instead`,
            )
          : new BrokerError(
              'scim_uniqueness',
              `userName ${JSON.stringify(user.userName)} is taken by another user: find it with GET /scim/v2/Users?filter=userName eq "${user.userName}" and update it instead`,
            );
    }
  }

  private audit(
    event: string,
    user: ScimUser,
    at: number,
    caller: Caller,
    extra: Record<string, unknown> = {},
  ): AuditEvent {
    return {
      time: at,
      event,
      outcome: 'success',
      subject: user.subject,
      source: 'scim',
      clientAddress: caller.clientAddress,
      userAgent: caller.userAgent,
      detail: { scim_id: user.id, userName: user.userName, active: user.active, ...extra },
    };
  }
}

function checked(fields: UserFields): UserFields {
  if (JSON.stringify(fields.resource).length > MAX_RESOURCE_BYTES) {
    throw new BrokerError(
      'scim_invalid_value',
      'the user would be larger than 64 KiB: send fewer or shorter attributes',
    );
  }
  return fields;
}

const busy = () =>
  new BrokerError(
    'unavailable',
    'this user is being changed by other requests at the same time: retry',
    {
      headers: { 'Retry-After': '1' },
    },
  );

function integer(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^-?\d{1,9}$/.test(text)) {
    throw new BrokerError(
      'scim_invalid_value',
      `${name} must be a whole number, not ${JSON.stringify(text.slice(0, 20))}`,
    );
  }
  return Number(text);
}

/** The one comparison the store can answer: equality on userName, externalId or id. */
function storeFilter(text: string): { userNameKey?: string; externalId?: string; id?: string } {
  const filter = parseFilter(text);
  const [c] = filter;
  const name = c && c.path.sub === null ? asciiLower(c.path.attr) : '';
  if (
    filter.length !== 1 ||
    c!.op !== 'eq' ||
    typeof c!.value !== 'string' ||
    !['username', 'externalid', 'id'].includes(name)
  ) {
    throw new BrokerError(
      'scim_invalid_filter',
      'this broker filters users with one equality on a string: userName eq "...", externalId eq "..." or id eq "..."',
    );
  }
  const value = c!.value;
  if (name === 'username') return { userNameKey: asciiLower(value) };
  return name === 'externalid' ? { externalId: value } : { id: value };
}
