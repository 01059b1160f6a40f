import { BrokerError } from '../shared/errors.js';
import type { Row } from './rows.js';

/**
 * The part of Cloudflare's D1Database binding this store uses, so that the
 * core needs no Workers types: `env.DB` fits it.
 */
export interface D1Like {
  prepare(sql: string): D1StatementLike;
  batch(statements: D1StatementLike[]): Promise<D1ResultLike[]>;
}

export interface D1StatementLike {
  bind(...values: unknown[]): D1StatementLike;
  all(): Promise<D1ResultLike>;
  run(): Promise<D1ResultLike>;
}

export interface D1ResultLike {
  results: unknown[];
  meta: { changes?: number };
}

/**
 * Runs statements on a D1 binding. Any failure of D1 itself (overloaded,
 * unreachable, a storage error) becomes a 503 that says to retry: it is the
 * broker's temporary trouble, not the caller's.
 */
export class D1Client {
  constructor(private readonly binding: D1Like) {}

  stmt(sql: string, ...args: unknown[]): D1StatementLike {
    return this.binding.prepare(sql).bind(...args);
  }

  async all(sql: string, ...args: unknown[]): Promise<Row[]> {
    try {
      return (await this.stmt(sql, ...args).all()).results as Row[];
    } catch (e) {
      throw unavailable(e);
    }
  }

  async run(sql: string, ...args: unknown[]): Promise<D1ResultLike> {
    try {
      return await this.stmt(sql, ...args).run();
    } catch (e) {
      throw unavailable(e);
    }
  }

  async batch(statements: D1StatementLike[]): Promise<D1ResultLike[]> {
    try {
      return await this.binding.batch(statements);
    } catch (e) {
      throw unavailable(e);
    }
  }
}

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * D1 refusing a query (overloaded, unreachable, a storage error) is the
 * broker's temporary trouble, not the caller's: a 503 that says to retry,
 * with D1's error kept as the cause for the log. Nothing of the batch was
 * written: D1 rolls a failed batch back whole.
 */
function unavailable(error: unknown): BrokerError {
  return new BrokerError(
    'unavailable',
    'the broker cannot reach its database right now, so it issues and revokes nothing: retry in a minute (operators: /readyz says why)',
    { headers: { 'Retry-After': '60' }, detail: { d1: messageOf(error) }, cause: error },
  );
}
