import type { AuditEvent } from '../store/types.js';

/**
 * What a refusal may store. Anyone can send a garbage token with fifty long
 * scopes, and any repository on GitHub can mint a validly signed token that
 * matches no policy and replay it until it expires: a refusal row must not
 * grow with what the caller sends.
 */
export const DENIAL_BUDGET = {
  /**
   * A request that proved nothing: no verified token, no subject. A little
   * under 1 KiB, so the stored row with its id and empty columns stays under.
   */
  anonymous: 900,
  /**
   * A validly signed token refused by policy: room for the detail of eight
   * policies that trust its project (which check failed, on what value) next
   * to the scopes asked. Policies pinned to other projects are only counted,
   * each subject is rate limited, and a replay is stored small.
   */
  signed: 6 * 1024,
} as const;

interface Clip {
  text: number;
  items: number;
}

/** Looser first, tighter until the row fits its budget. */
const LEVELS: Clip[] = [
  { text: 128, items: 32 },
  { text: 64, items: 16 },
  { text: 32, items: 8 },
  { text: 16, items: 4 },
  { text: 8, items: 4 },
];

/** `text` cut to `max` characters, the cut said in the text itself. */
export function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[truncated, ${text.length} chars]`;
}

function clip(value: unknown, c: Clip): unknown {
  if (typeof value === 'string') return clipText(value, c.text);
  if (Array.isArray(value)) {
    const kept = value.slice(0, c.items).map((v) => clip(v, c));
    return value.length > c.items ? [...kept, `…[${value.length - c.items} more]`] : kept;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const kept = entries.slice(0, c.items).map(([k, v]) => [clipText(k, c.text), clip(v, c)]);
    if (entries.length > c.items) kept.push(['…', `${entries.length - c.items} more`]);
    return Object.fromEntries(kept);
  }
  return value;
}

const clipOrNull = (text: string | null | undefined, max: number) =>
  text == null ? text : clipText(text, max);

/** Each column cut to the level; the reason gets twice the room, the scopes a quarter of the count. */
function shape(row: AuditEvent, c: Clip): AuditEvent {
  return {
    ...row,
    subject: clipOrNull(row.subject, c.text * 2),
    policy: clipOrNull(row.policy, c.text),
    reason: clipOrNull(row.reason, c.text * 2),
    clientAddress: clipOrNull(row.clientAddress, c.text),
    userAgent: clipOrNull(row.userAgent, c.text),
    scopes: row.scopes && (clip(row.scopes, { text: c.text, items: c.items / 4 }) as string[]),
    detail: row.detail && (clip(row.detail, c) as Record<string, unknown>),
  };
}

const size = (row: AuditEvent) => new TextEncoder().encode(JSON.stringify(row)).length;

/**
 * The row cut down until all its columns together, as JSON, fit `budget`
 * bytes. Time, event, outcome, source and the token's hash are never cut:
 * they say what happened and let an operator find every attempt with one
 * token.
 */
export function boundDenial(row: AuditEvent, budget: number): AuditEvent {
  // A row that fits is kept whole: a refusal's reason ends with what to do.
  if (size(row) <= budget) return row;
  for (const level of LEVELS) {
    const shaped = shape(row, level);
    if (size(shaped) <= budget) return shaped;
  }
  // Only pathological rows get here: long columns of characters JSON escapes
  // to six bytes each, or a config with very many long policy names.
  const last = shape(row, { text: 4, items: 4 });
  return { ...last, detail: { truncated: 'the refusal detail was too large to keep' } };
}

/**
 * Identical refusals (same token, reason and scopes) within a window: the
 * first keeps its detail, each repeat is stored small with its count. A
 * validly signed token that matches no policy can be replayed until it
 * expires (its jti is consumed only at issue), and an operator still sees
 * every attempt, its time and address, without the detail again.
 */
export class RepeatedDenials {
  private readonly seen = new Map<string, { first: number; count: number }>();

  constructor(
    private readonly windowSeconds = 600,
    /** About 100 bytes a key: the map stays near a megabyte whatever the flood. */
    private readonly maxKeys = 10_000,
  ) {}

  /** Undefined for the first refusal of its kind in the window, else its count so far. */
  note(key: string, now: number): { first: number; count: number } | undefined {
    const hit = this.seen.get(key);
    if (hit && now - hit.first < this.windowSeconds) {
      hit.count++;
      return { ...hit };
    }
    this.seen.delete(key);
    if (this.seen.size >= this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { first: now, count: 1 });
    return undefined;
  }
}
