import type { IssuedToken, SessionSummary, StoredAuditEvent } from '../../store/types.js';
import { printable } from '../html.js';
import { Layout } from './layout.js';
import { PostButton } from './post-button.js';
import { AuditTable, Bounded, shown, when } from './admin-audit.js';

/** What the admin page shows; every string that a caller could have written is escaped on render. */
export interface AdminView {
  email: string;
  csrf: string;
  now: number;
  /** The search as sent (already printable), to fill the form again. */
  search: { subject: string; event: string; since: string };
  /** Why the search was not run (a `since` it cannot read), shown above the form. */
  error?: string | undefined;
  tokens: IssuedToken[];
  sessions: SessionSummary[];
  denials: StoredAuditEvent[];
  audit: StoredAuditEvent[];
  /** The bound of each list: a list this long says it shows only the newest. */
  limit: number;
}

export function AdminPage(v: AdminView) {
  return (
    <Layout title="Admin" who={{ email: v.email, csrf: v.csrf }}>
      <section class="card" aria-labelledby="admin-title">
        <h1 id="admin-title">Admin</h1>
        <p class="muted">
          Live tokens and sessions of every subject, recent denials and the audit log. Revoking and
          ending sessions take effect at once and are recorded with your name.{' '}
          <a href="/">Your own tokens</a> are on your page.
        </p>
        {v.error && (
          <p class="error" role="alert">
            {v.error}
          </p>
        )}
        <form class="search" method="get" action="/admin">
          <label>
            Subject <span class="hint">exact, e.g. user:alice@example.com</span>
            <input type="text" name="subject" value={v.search.subject} autocomplete="off" />
          </label>
          <label>
            Event <span class="hint">audit log only, e.g. token.revoked</span>
            <input type="text" name="event" value={v.search.event} autocomplete="off" />
          </label>
          <label>
            Since <span class="hint">24h, 7d or 2026-01-15 12:00 (UTC)</span>
            <input type="text" name="since" value={v.search.since} autocomplete="off" />
          </label>
          <button type="submit">Search</button>
        </form>
      </section>
      <Tokens {...v} />
      <Sessions {...v} />
      <section class="card" aria-labelledby="denials-title">
        <h2 id="denials-title">Recent denials</h2>
        <Bounded rows={v.denials.length} limit={v.limit} none="No denial." />
        {v.denials.length > 0 && <AuditTable rows={v.denials} label="Recent denials" />}
      </section>
      <section class="card" aria-labelledby="audit-title">
        <h2 id="audit-title">Audit log</h2>
        <Bounded rows={v.audit.length} limit={v.limit} none="No audit row matches." />
        {v.audit.length > 0 && <AuditTable rows={v.audit} label="Audit log" />}
      </section>
    </Layout>
  );
}

function Tokens(v: AdminView) {
  return (
    <section class="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Live tokens</h2>
      <Bounded rows={v.tokens.length} limit={v.limit} none="No live token." />
      {v.tokens.length > 0 && (
        <table aria-label="Live tokens">
          <thead>
            <tr>
              <th scope="col">Subject</th>
              <th scope="col">Source</th>
              <th scope="col">Scopes</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {bySubject(v.tokens).map((t) => (
              <tr>
                <td class="mono">{shown(t.subject)}</td>
                <td>{t.source}</td>
                <td class="mono">{shown(t.scopes.join(' '))}</td>
                <td>{when(t.expiresAt)}</td>
                <td>
                  <PostButton
                    action={`/admin/tokens/${encodeURIComponent(t.jti)}/revoke`}
                    csrf={v.csrf}
                    label="Revoke"
                    ariaLabel={`Revoke the token of ${printable(t.subject)} created ${when(t.issuedAt)}`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Sessions(v: AdminView) {
  const groups = new Map<string, SessionSummary[]>();
  for (const s of v.sessions) groups.set(s.subject, [...(groups.get(s.subject) ?? []), s]);
  return (
    <section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Live sessions</h2>
      <Bounded rows={v.sessions.length} limit={v.limit} none="Nobody is logged in." />
      {groups.size > 0 && (
        <table aria-label="Live sessions">
          <thead>
            <tr>
              <th scope="col">Subject</th>
              <th scope="col">Sessions (created · last seen · expires)</th>
              <th scope="col">
                <span class="muted">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...groups].map(([subject, sessions]) => (
              <tr>
                <td class="mono">{shown(subject)}</td>
                <td>
                  {sessions.map((s) => (
                    <div>
                      {when(s.createdAt)} · {when(s.lastSeenAt)} · {when(s.expiresAt)}
                    </div>
                  ))}
                </td>
                <td>
                  <PostButton
                    action="/admin/subjects/end-sessions"
                    csrf={v.csrf}
                    fields={{ subject }}
                    label="End sessions"
                    ariaLabel={`End the sessions of ${printable(subject)}`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Grouped by subject (in the order each subject first appears: newest first), newest first within. */
function bySubject(tokens: IssuedToken[]): IssuedToken[] {
  const order = new Map<string, number>();
  for (const t of tokens) if (!order.has(t.subject)) order.set(t.subject, order.size);
  return tokens
    .map((t, i) => ({ t, i }))
    .sort((a, b) => order.get(a.t.subject)! - order.get(b.t.subject)! || a.i - b.i)
    .map(({ t }) => t);
}
