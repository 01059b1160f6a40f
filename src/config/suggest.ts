import type { z } from 'zod';

/*
 * "Did you mean": the keys the schema allows where an unknown key was
 * written, and the closest of them. Config files are the operator's own and
 * small; keys over 64 characters get no suggestion.
 */

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/** The schemas a value at `path` is checked against, through optional, default, pipe and union. */
function reach(schema: unknown, path: readonly PropertyKey[]): unknown[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return reach(def.innerType, path);
    case 'pipe':
      return reach(def.in, path);
    case 'union':
      return (def.options as unknown[]).flatMap((o) => reach(o, path));
  }
  if (path.length === 0) return [schema];
  const [head, ...rest] = path;
  if (def.type === 'object' && typeof head === 'string') {
    const child = (def.shape as Record<string, unknown>)[head];
    return child ? reach(child, rest) : [];
  }
  if (def.type === 'array' && typeof head === 'number') return reach(def.element, rest);
  return [];
}

/** The keys an object at `path` may have. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const s of reach(schema, path)) {
    const def = defOf(s);
    if (def.type === 'object') for (const k of Object.keys(def.shape as object)) keys.add(k);
  }
  return [...keys];
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The allowed key closest to `key`, if close enough to be a slip: 1 edit, 2 for longer keys. */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  if (key.length > 64) return undefined;
  const limit = key.length <= 4 ? 1 : 2;
  let best: { key: string; d: number } | undefined;
  for (const k of allowed) {
    const d = distance(key.toLowerCase(), k);
    if (d <= limit && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}
