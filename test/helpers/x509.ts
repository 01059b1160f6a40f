import { selfSignedCert as makeCert, type DemoKeyPair } from '../../src/demo/x509.js';

/** The test IdPs' keys: the demo's self-signed certificate, valid for a year. */
export type TestKeyPair = DemoKeyPair;

export const selfSignedCert = (cn: string): TestKeyPair => makeCert(cn, Date.now(), 365);
