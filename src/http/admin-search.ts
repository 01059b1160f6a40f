import { parseDuration } from '../protocol/duration.js';

/** The admin page's search, as sent (empty strings for fields left out). */
export interface AdminSearch {
  subject: string;
  event: string;
  since: string;
  /** `since` read as a time, Unix seconds; undefined: no lower bound. */
  sinceSeconds: number | undefined;
}

/** Longer than any subject, event or time the broker writes: not worth a query. */
const MAX = { subject: 1024, event: 100, since: 40 } as const;
/** A date, optionally with a time, always UTC; fixed widths, so it costs linear time. */
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$/;

/**
 * Reads the search fields. A field it cannot use is dropped from the search
 * (the page still shows everything else) and named in `error`, with what to
 * type instead.
 */
export function readAdminSearch(
  raw: { subject?: string | undefined; event?: string | undefined; since?: string | undefined },
  now: number,
): { search: AdminSearch; error: string | undefined } {
  const errors: string[] = [];
  const field = (name: keyof typeof MAX): string => {
    const v = (raw[name] ?? '').trim();
    if (v.length <= MAX[name]) return v;
    errors.push(`the ${name} is longer than ${MAX[name]} characters: no ${name} has that many`);
    return '';
  };
  const subject = field('subject');
  const event = field('event');
  const since = field('since');
  let sinceSeconds: number | undefined;
  if (since !== '') {
    sinceSeconds = readSince(since, now);
    if (sinceSeconds === undefined) {
      errors.push(
        'the time under "Since" is neither a duration (24h, 7d) nor a UTC date (2026-01-15 or 2026-01-15 12:00): the audit log is shown from its start',
      );
    }
  }
  return {
    search: { subject, event, since, sinceSeconds },
    error: errors.length ? `${errors.join('; ')}.` : undefined,
  };
}

function readSince(text: string, now: number): number | undefined {
  const ago = /^\d+$/.test(text) ? undefined : parseDuration(text);
  if (ago !== undefined) return Math.max(0, now - ago);
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s);
  const back = new Date(ms);
  // Date.UTC rolls 2026-02-31 over into March: refuse rather than guess.
  if (Number.isNaN(ms) || back.getUTCDate() !== +d! || +h > 23 || +mi > 59 || +s > 59) {
    return undefined;
  }
  return Math.floor(ms / 1000);
}
