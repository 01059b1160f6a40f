import { BrokerError } from '../shared/errors.js';
import { asciiLower } from '../shared/show.js';

/*
 * SCIM filters (RFC 7644 section 3.4.2.2), the part directories send:
 * comparisons joined by `and`, as in `userName eq "alice@example.com"` and the
 * value paths of PATCH (`emails[type eq "work"]`). Read by a scanner that
 * looks at each character once (no regular expression runs on the whole
 * text), and capped in length, so any filter costs bounded time.
 */

/** Longer than any filter Okta or Entra ID sends; longer ones are refused before they are read. */
export const MAX_FILTER_LENGTH = 1024;
const MAX_COMPARISONS = 10;

export type Operator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le' | 'pr';
const OPERATORS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr']);

export type FilterValue = string | number | boolean | null;

/** `urn:...:User:name.givenName` is { uri: 'urn:...:User', attr: 'name', sub: 'givenName' }. */
export interface AttrPath {
  uri: string | null;
  attr: string;
  sub: string | null;
}

export interface Comparison {
  path: AttrPath;
  op: Operator;
  /** Undefined for `pr`. */
  value?: FilterValue;
}

/** Comparisons that must all hold. */
export type Filter = Comparison[];

const NAME = /^[A-Za-z$][A-Za-z0-9_$-]*$/;

const invalid = (message: string) =>
  new BrokerError('scim_invalid_filter', `${message}: ${SUPPORTED}`);
const SUPPORTED =
  'send comparisons such as userName eq "alice@example.com", joined by "and" (or, not and parentheses are not supported)';

/** An attribute path as a filter or a PATCH path writes it; undefined when it is not one. */
export function parseAttrPath(text: string): AttrPath | undefined {
  const colon = text.lastIndexOf(':');
  const uri = colon >= 0 ? text.slice(0, colon) : null;
  const [attr, sub, more] = text.slice(colon + 1).split('.');
  if (more !== undefined || attr === undefined || !NAME.test(attr)) return undefined;
  if (sub !== undefined && !NAME.test(sub)) return undefined;
  if (uri !== null && !uri.startsWith('urn:')) return undefined;
  return { uri, attr, sub: sub ?? null };
}

/** Reads a filter; a BrokerError (scim_invalid_filter) says what is wrong with it. */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) {
    throw invalid(`the filter is longer than ${MAX_FILTER_LENGTH} characters`);
  }
  const s = new Scanner(text);
  const filter: Filter = [];
  for (;;) {
    filter.push(comparison(s));
    s.spaces();
    if (s.done()) return filter;
    const word = s.word();
    if (asciiLower(word) !== 'and') {
      throw invalid(`"${word}" at position ${s.at} of the filter is not understood`);
    }
    if (filter.length >= MAX_COMPARISONS) {
      throw invalid(`the filter joins more than ${MAX_COMPARISONS} comparisons`);
    }
  }
}

function comparison(s: Scanner): Comparison {
  s.spaces();
  const pathText = s.word();
  const path = parseAttrPath(pathText);
  if (!path) {
    throw invalid(
      pathText === ''
        ? `an attribute name was expected at position ${s.at} of the filter`
        : `"${pathText}" is not an attribute name`,
    );
  }
  s.spaces();
  const opText = asciiLower(s.word());
  if (!OPERATORS.has(opText)) {
    throw invalid(
      `"${opText}" after ${pathText} is not a SCIM operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)`,
    );
  }
  const op = opText as Operator;
  if (op === 'pr') return { path, op };
  s.spaces();
  return { path, op, value: s.value() };
}

class Scanner {
  at = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.at >= this.text.length;
  }

  spaces(): void {
    while (this.text[this.at] === ' ') this.at++;
  }

  /** Up to the next space (or the end). */
  word(): string {
    const start = this.at;
    while (this.at < this.text.length && this.text[this.at] !== ' ') this.at++;
    return this.text.slice(start, this.at);
  }

  value(): FilterValue {
    if (this.text[this.at] !== '"') {
      const word = this.word();
      if (word === 'true') return true;
      if (word === 'false') return false;
      if (word === 'null') return null;
      // JSON's number grammar, checked by JSON.parse on the one word.
      if (word !== '' && /^[-0-9]/.test(word)) {
        try {
          const n: unknown = JSON.parse(word);
          if (typeof n === 'number') return n;
        } catch {
          // reported below
        }
      }
      throw invalid(
        word === ''
          ? 'the filter ends where a value was expected'
          : `${word} is not a value: quote strings ("..."), or use true, false, null or a number`,
      );
    }
    const start = this.at++;
    while (this.at < this.text.length && this.text[this.at] !== '"') {
      this.at += this.text[this.at] === '\\' ? 2 : 1;
    }
    if (this.at >= this.text.length) throw invalid('a quoted value in the filter is not closed');
    this.at++;
    try {
      return JSON.parse(this.text.slice(start, this.at)) as string;
    } catch {
      throw invalid('a quoted value in the filter has an invalid escape');
    }
  }
}

/** Whether `item` (one value of a multi-valued attribute) meets every comparison: for PATCH value paths. */
export function matches(item: unknown, filter: Filter): boolean {
  if (typeof item !== 'object' || item === null) return false;
  return filter.every((c) => {
    const name = c.path.sub === null ? c.path.attr : `${c.path.attr}.${c.path.sub}`;
    const v = lookup(item as Record<string, unknown>, name);
    if (c.op === 'pr') return v !== undefined && v !== null && v !== '';
    return compare(v, c.op, c.value ?? null);
  });
}

function lookup(o: Record<string, unknown>, dotted: string): unknown {
  let at: unknown = o;
  for (const part of dotted.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    const key = Object.keys(at).find((k) => asciiLower(k) === asciiLower(part));
    at = key === undefined ? undefined : (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Strings compare without ASCII case, as the User attributes directories filter on are caseExact false. */
function compare(v: unknown, op: Operator, want: FilterValue): boolean {
  const a = typeof v === 'string' ? asciiLower(v) : v;
  const b = typeof want === 'string' ? asciiLower(want) : want;
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return typeof a === 'string' && typeof b === 'string' && a.includes(b);
    case 'sw':
      return typeof a === 'string' && typeof b === 'string' && a.startsWith(b);
    case 'ew':
      return typeof a === 'string' && typeof b === 'string' && a.endsWith(b);
    default:
      if (typeof a === typeof b && (typeof a === 'string' || typeof a === 'number')) {
        const x = a as string | number;
        const y = b as string | number;
        return op === 'gt' ? x > y : op === 'ge' ? x >= y : op === 'lt' ? x < y : x <= y;
      }
      return false;
  }
}
