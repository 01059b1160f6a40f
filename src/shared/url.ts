/**
 * Which URLs may carry keys, certificates or credentials over plain http:
 * those on this machine (loopback), for development, tests and the demo.
 * One rule for the server (issuer documents, JWKS, IdP metadata) and the
 * client (the broker URL a CI job sends its token to).
 */

/** localhost, 127.0.0.0/8 and [::1], as `URL.hostname` spells them. */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/** https anywhere, or http on loopback. */
export function isSecureUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname));
  } catch {
    return false;
  }
}
