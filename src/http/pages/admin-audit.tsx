import type { StoredAuditEvent } from '../../store/types.js';
import { printable } from '../html.js';

/** A time as the admin page shows it: to the second, UTC. */
export const when = (t: number) =>
  new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';

/**
 * Text a caller may have written (a CI token's subject, a user agent, a
 * reason quoting a claim): JSX escapes markup, `printable` the control
 * characters no HTML escape covers.
 */
export const shown = (text: string | null | undefined): string => printable(text ?? '');

/** A refusal's detail can quote a whole claim set: the page shows its start, the CLI all of it. */
const DETAIL_CHARS = 1000;
const clip = (text: string) =>
  text.length > DETAIL_CHARS
    ? `${text.slice(0, DETAIL_CHARS)}… (cut: tokenbroker audit --json has it all)`
    : text;

/** The line above a bounded list: none, or that only the newest are shown. */
export function Bounded(p: { rows: number; limit: number; none: string }) {
  if (p.rows === 0) return <p class="muted">{p.none}</p>;
  if (p.rows < p.limit) return <></>;
  return <p class="muted">Showing the newest {p.limit}: narrow the search to see older ones.</p>;
}

/** Audit rows, newest first as given; `detail` as JSON, never interpreted. */
export function AuditTable({ rows, label }: { rows: StoredAuditEvent[]; label: string }) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Event</th>
          <th scope="col">Subject</th>
          <th scope="col">Reason</th>
          <th scope="col">From</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((e) => (
          <tr>
            <td>{when(e.time)}</td>
            <td>
              <span class="mono">{shown(e.event)}</span>
              {e.outcome === 'denied' && <span class="refused"> denied</span>}
              {e.source && <div class="muted">{shown(e.source)}</div>}
            </td>
            <td class="mono">{shown(e.subject)}</td>
            <td>
              {shown(e.reason)}
              {e.scopes && e.scopes.length > 0 && (
                <div class="mono muted">{shown(e.scopes.join(' '))}</div>
              )}
              {e.detail && <div class="mono muted">{clip(shown(JSON.stringify(e.detail)))}</div>}
            </td>
            <td>
              {shown(e.clientAddress)}
              {e.userAgent && <div class="muted">{shown(e.userAgent)}</div>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
