import { BrokerError } from '../shared/errors.js';
import { asciiLower } from '../shared/show.js';
import { matches, type Filter } from './filter.js';
import { parsePatchPath, type PatchPath } from './path.js';
import { isObject, keyOf, USER_SCHEMA } from './user.js';

/*
 * PATCH (RFC 7644 section 3.5.2) applied to a stored User resource, as the
 * directories send it: Okta's `{"op": "replace", "value": {"active": false}}`
 * without a path, Entra ID's `{"op": "Replace", "path": "active", "value":
 * "False"}` (op names in any case; the string boolean is read by readUser),
 * and value paths such as `emails[type eq "work"].value`. The result is read
 * again by readUser, so a PATCH cannot store what a PUT could not.
 */

export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const MAX_OPERATIONS = 100;

type Op = 'add' | 'replace' | 'remove';

const syntax = (message: string) => new BrokerError('scim_invalid_syntax', message);

/** The resource after the PatchOp `body`, as a new object. */
export function applyPatch(
  resource: Record<string, unknown>,
  body: unknown,
): Record<string, unknown> {
  if (!isObject(body)) throw syntax('the body must be a JSON object: a SCIM PatchOp');
  const schemasKey = keyOf(body, 'schemas');
  const schemas = schemasKey === undefined ? undefined : body[schemasKey];
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_SCHEMA)) {
    throw syntax(`"schemas" must be ["${PATCH_SCHEMA}"]`);
  }
  const opsKey = keyOf(body, 'Operations');
  const ops = opsKey === undefined ? undefined : body[opsKey];
  if (!Array.isArray(ops) || ops.length === 0) {
    throw syntax(
      '"Operations" must list at least one {"op": "add|replace|remove", "path": ..., "value": ...}',
    );
  }
  if (ops.length > MAX_OPERATIONS)
    throw syntax(`send at most ${MAX_OPERATIONS} Operations per PATCH`);
  const out = structuredClone(resource);
  ops.forEach((raw, i) => {
    if (!isObject(raw)) throw syntax(`Operations[${i}] must be an object`);
    const get = (name: string) => {
      const k = keyOf(raw, name);
      return k === undefined ? undefined : raw[k];
    };
    const opName = get('op');
    const op = typeof opName === 'string' ? asciiLower(opName) : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw syntax(
        `Operations[${i}].op must be "add", "replace" or "remove", not ${JSON.stringify(opName)?.slice(0, 50)}`,
      );
    }
    const path = get('path');
    const value = get('value');
    if (path === undefined || path === '') {
      if (op === 'remove') {
        throw new BrokerError(
          'scim_no_target',
          `Operations[${i}] removes without a "path": name the attribute to remove`,
        );
      }
      if (!isObject(value)) {
        throw syntax(
          `Operations[${i}] has no "path", so its "value" must be an object of attributes`,
        );
      }
      for (const [name, v] of Object.entries(value)) {
        // An extension's attributes arrive under its schema URN, as one object.
        if (asciiLower(name).startsWith('urn:') && isObject(v)) {
          for (const [sub, sv] of Object.entries(v))
            apply(out, op, { uri: name, attr: sub, filter: null, sub: null }, sv);
        } else {
          apply(out, op, parsePatchPath(name), v);
        }
      }
      return;
    }
    if (typeof path !== 'string') throw syntax(`Operations[${i}].path must be a string`);
    if (op !== 'remove' && value === undefined)
      throw syntax(`Operations[${i}] (${op} ${path.slice(0, 100)}) has no "value"`);
    apply(out, op, parsePatchPath(path), value);
  });
  return out;
}

function apply(resource: Record<string, unknown>, op: Op, path: PatchPath, value: unknown): void {
  const name = asciiLower(path.attr);
  if (path.uri === null && (name === 'id' || name === 'meta' || name === 'schemas')) {
    throw new BrokerError(
      'scim_mutability',
      `${path.attr} is set by the broker and cannot be changed`,
    );
  }
  // Never stored: a directory that syncs passwords sends them, and they are dropped here.
  if (path.uri === null && name === 'password') return;
  const container = containerOf(resource, path.uri, op !== 'remove');
  if (!container) return;
  const key = keyOf(container, path.attr) ?? path.attr;
  if (path.filter) return applyToValues(container, key, op, path.filter, path.sub, value);
  if (path.sub !== null) {
    let parent = container[key];
    if (parent === undefined && op !== 'remove') parent = container[key] = {};
    if (!isObject(parent)) {
      if (parent === undefined) return;
      throw new BrokerError(
        'scim_no_target',
        `${path.attr} has no sub-attribute ${path.sub}: pick one of its values with a filter, such as ${path.attr}[type eq "work"].${path.sub}`,
      );
    }
    const subKey = keyOf(parent, path.sub) ?? path.sub;
    if (op === 'remove') delete parent[subKey];
    else parent[subKey] = value;
    return;
  }
  const current = container[key];
  if (op === 'remove') {
    if (Array.isArray(current) && Array.isArray(value)) {
      // Entra ID removes values of a multi-valued attribute by listing them.
      const gone = new Set(value.map((v) => (isObject(v) ? v.value : v)));
      container[key] = current.filter((v) => !gone.has(isObject(v) ? v.value : v));
    } else delete container[key];
  } else if (op === 'add' && Array.isArray(current) && Array.isArray(value)) {
    container[key] = [...current, ...value];
  } else if (isObject(current) && isObject(value)) {
    // A complex attribute: the sub-attributes sent replace theirs, the others stay.
    for (const [k, v] of Object.entries(value)) current[keyOf(current, k) ?? k] = v;
  } else {
    container[key] = value;
  }
}

/** Where an attribute lives: the resource for the core schema, or the extension's object. */
function containerOf(
  resource: Record<string, unknown>,
  uri: string | null,
  create: boolean,
): Record<string, unknown> | undefined {
  if (uri === null || asciiLower(uri) === asciiLower(USER_SCHEMA)) return resource;
  const key = keyOf(resource, uri) ?? uri;
  const ext = resource[key];
  if (isObject(ext)) return ext;
  if (!create) return undefined;
  const made: Record<string, unknown> = {};
  resource[key] = made;
  if (Array.isArray(resource.schemas) && !resource.schemas.includes(uri))
    resource.schemas.push(uri);
  return made;
}

/**
 * A value path: the values of a multi-valued attribute that meet the filter.
 * When none does, add and replace create one from the filter's equalities
 * (`emails[type eq "work"].value` adds a work email), as Entra ID expects.
 */
function applyToValues(
  container: Record<string, unknown>,
  key: string,
  op: Op,
  filter: Filter,
  sub: string | null,
  value: unknown,
): void {
  const current = container[key] ?? [];
  if (!Array.isArray(current)) {
    throw new BrokerError(
      'scim_no_target',
      `${key} is not multi-valued, so a [filter] cannot pick its values`,
    );
  }
  const picked = current.filter((v) => matches(v, filter));
  if (op === 'remove') {
    if (sub === null) container[key] = current.filter((v) => !picked.includes(v));
    else for (const v of picked as Record<string, unknown>[]) delete v[keyOf(v, sub) ?? sub];
    return;
  }
  if (picked.length === 0) {
    if (filter.some((c) => c.op !== 'eq' || c.path.sub !== null || c.path.uri !== null)) {
      throw new BrokerError(
        'scim_no_target',
        `no value of ${key} matches the filter, and it has comparisons other than eq to build one from`,
      );
    }
    const made: Record<string, unknown> = Object.fromEntries(
      filter.map((c) => [c.path.attr, c.value]),
    );
    container[key] = [...current, made];
    picked.push(made);
  }
  for (const v of picked as Record<string, unknown>[]) {
    if (sub !== null) v[keyOf(v, sub) ?? sub] = value;
    else if (isObject(value)) for (const [k, x] of Object.entries(value)) v[keyOf(v, k) ?? k] = x;
    else throw syntax(`the value for ${key}[...] must be an object of its sub-attributes`);
  }
}
