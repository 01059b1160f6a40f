const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(\d{1,9})(s|m|h|d)$/;

/**
 * Parses `90s`, `15m`, `8h`, `1d` (and, where a caller passes a number or a
 * string of digits, plain seconds) into seconds. Returns undefined when the
 * input is not a duration so each caller can word its own error.
 */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  const s = input.trim();
  if (/^\d{1,9}$/.test(s)) return Number(s);
  const m = DURATION.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** 192 -> "3m12s"; used in messages about clocks and lifetimes. */
export function formatDuration(seconds: number): string {
  let s = Math.max(0, Math.round(seconds));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}
