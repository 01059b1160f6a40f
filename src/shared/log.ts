import { jsonForTerminal } from './terminal.js';

/**
 * Structured logs, one JSON object a line. Tokens and secrets never reach a
 * log: callers pass no token, and as a safety net any string that looks like
 * a JWT is masked before it is written. Operators tail logs in a terminal, and
 * fields hold what callers sent, so control, bidi and line-separator
 * characters are written as \uXXXX escapes (the line stays the same JSON).
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

export function redact(value: unknown): unknown {
  if (typeof value === 'string')
    return value.includes('eyJ') ? value.replace(JWT_LIKE, '[redacted-jwt]') : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(redact);
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]));
}

export function jsonLogger(write: (line: string) => void = (l) => console.log(l)): Logger {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    write(
      jsonForTerminal({
        time: new Date().toISOString(),
        level,
        msg: redact(msg),
        ...(redact(fields ?? {}) as object),
      }),
    );
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
