import { randomId, randomString } from '../shared/crypto.js';

/*
 * The codes of the device flow (RFC 8628). The device code is the device's
 * secret: 256 random bits, stored only as its SHA-256. The user code is what
 * a person reads on one screen and types on another, so it is short: its
 * safety comes from the guessing limit (rate-limit/user-codes.ts), not from
 * its length.
 */

/**
 * Consonants only: no vowel, so no word (polite or not) can come up, and
 * nothing that reads as a digit or as another letter (no A E I O U, and no Y).
 * 20 letters, 8 of them: 20^8 = 2.56 * 10^10 codes.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;
/** RFC 8628 expires_in: how long a person has to approve, and the device to poll. */
export const DEVICE_CODE_LIFETIME = 600;
/** RFC 8628 interval: seconds between polls; each slow_down adds 5. */
export const POLL_INTERVAL = 5;

const WELL_FORMED = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`);
/** Longer than any way of writing a code: not normalized, not looked up. */
const MAX_TYPED = 32;

/** 32 random bytes, base64url: 43 characters. */
export const newDeviceCode = () => randomId(32);
export const newUserCode = () => randomString(USER_CODE_ALPHABET, USER_CODE_LENGTH);

/** `BCDFGHJK` as people read it: `BCDF-GHJK`. */
export const displayUserCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

/**
 * A code as a person typed or pasted it, the way it is stored: upper case,
 * without spaces or dashes (a pasted en dash included). Undefined when it
 * cannot be a code at all: such input matches nothing, so it counts as no
 * guess either.
 */
export function normalizeUserCode(typed: string | undefined): string | undefined {
  if (typed === undefined || typed.length > MAX_TYPED) return undefined;
  const code = typed
    .replace(/[\s\-\u2010-\u2015]/g, '')
    .replace(/[a-z]/g, (ch) => ch.toUpperCase());
  return WELL_FORMED.test(code) ? code : undefined;
}
