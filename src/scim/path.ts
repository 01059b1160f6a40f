import { BrokerError } from '../shared/errors.js';
import { parseAttrPath, parseFilter, type AttrPath, type Filter } from './filter.js';

/**
 * A PATCH operation's path (RFC 7644 section 3.5.2): an attribute
 * (`active`, `name.givenName`, with or without its schema URN) or a value
 * path that picks values of a multi-valued attribute
 * (`emails[type eq "work"].value`, as Entra ID sends).
 */
export interface PatchPath {
  /** The attribute, under the schema it belongs to (null: the core User schema). */
  uri: string | null;
  attr: string;
  /** The values a value path picks; null when the path names the attribute itself. */
  filter: Filter | null;
  /** A sub-attribute, of the attribute or of each picked value. */
  sub: string | null;
}

const MAX_PATH_LENGTH = 1024;

const invalidPath = (path: string, why: string) =>
  new BrokerError(
    'scim_invalid_path',
    `PATCH path ${JSON.stringify(path.slice(0, 200))} ${why}: use an attribute such as "active" or "name.givenName", or a value path such as emails[type eq "work"].value`,
  );

export function parsePatchPath(text: string): PatchPath {
  if (text.length > MAX_PATH_LENGTH) throw invalidPath(text, 'is too long');
  const open = text.indexOf('[');
  if (open < 0) {
    const p = parseAttrPath(text);
    if (!p) throw invalidPath(text, 'is not an attribute path');
    return { ...p, filter: null };
  }
  const close = text.lastIndexOf(']');
  if (close < open) throw invalidPath(text, 'opens [ without closing it');
  const head: AttrPath | undefined = parseAttrPath(text.slice(0, open));
  if (!head || head.sub !== null) throw invalidPath(text, 'does not start with an attribute name');
  const rest = text.slice(close + 1);
  let sub: string | null = null;
  if (rest !== '') {
    const tail = rest.startsWith('.') ? parseAttrPath(rest.slice(1)) : undefined;
    if (!tail || tail.uri !== null || tail.sub !== null) {
      throw invalidPath(text, 'has something other than .subAttribute after ]');
    }
    sub = tail.attr;
  }
  let filter: Filter;
  try {
    filter = parseFilter(text.slice(open + 1, close));
  } catch (e) {
    throw new BrokerError(
      'scim_invalid_path',
      `in PATCH path ${JSON.stringify(text.slice(0, 200))}: ${(e as Error).message}`,
    );
  }
  return { uri: head.uri, attr: head.attr, filter, sub };
}
