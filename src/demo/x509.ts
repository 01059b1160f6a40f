import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/*
 * A self-signed RSA certificate made in-process at each start (Node signs but
 * does not build X.509), so the demo IdP's key lives only as long as the
 * process and the demo needs no openssl.
 */

export interface DemoKeyPair {
  privateKey: KeyObject;
  privateKeyPem: string;
  certPem: string;
  /** The certificate's base64 DER, as it appears in metadata and KeyInfo. */
  certBase64: string;
}

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  let len: Buffer;
  if (body.length < 0x80) len = Buffer.from([body.length]);
  else {
    let hex = body.length.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    const b = Buffer.from(hex, 'hex');
    len = Buffer.concat([Buffer.from([0x80 | b.length]), b]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

const seq = (...p: Buffer[]) => der(0x30, ...p);
const utcTime = (d: Date) =>
  der(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const name = (cn: string) => seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from(cn)))));
const SHA256_RSA = seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
const DAY_MS = 86_400_000;

/** An RSA-2048 key and a certificate for it, valid from yesterday for `days` (30) days. */
export function selfSignedCert(
  cn: string,
  nowMs: number = Date.now(),
  days: number = 30,
): DemoKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // A positive serial: the leading 0x01 keeps its top bit clear.
  const serial = Buffer.concat([Buffer.from([0x01]), randomBytes(8)]);
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    SHA256_RSA,
    name(cn),
    seq(utcTime(new Date(nowMs - DAY_MS)), utcTime(new Date(nowMs + days * DAY_MS))),
    name(cn),
    spki,
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = seq(tbs, SHA256_RSA, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const base64 = cert.toString('base64');
  return {
    privateKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`,
    certBase64: base64,
  };
}
