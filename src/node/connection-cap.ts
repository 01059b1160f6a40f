import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../shared/log.js';

/**
 * Keeps at most `max` connections open. When one more arrives, the oldest
 * connection that is not being answered goes: one still sending its request
 * (a slow client is the usual reason to be at the cap), or an idle keep-alive
 * one. A connection whose request has fully arrived is never cut, and if all
 * of them are being answered the newcomer is the one closed. So a flood of
 * slow connections cannot lock out a client that sends its request at once
 * (a health check gets its answer during the flood), and descriptors stay
 * bounded. Node's own `maxConnections` would instead refuse every newcomer
 * until the flood's connections time out.
 */
export function capConnections(server: Server, max: number, logger: Logger): void {
  // Insertion order is age order; the value is the request being answered, if any.
  const open = new Map<Socket, IncomingMessage | undefined>();
  let warned = false;

  server.on('connection', (socket: Socket) => {
    open.set(socket, undefined);
    socket.once('close', () => open.delete(socket));
    if (open.size <= max) return;
    const victim = oldestUnanswered(open) ?? socket;
    open.delete(victim);
    victim.destroy();
    if (!warned) {
      // One line per burst, not per closed socket: a flood must not flood the log too.
      warned = true;
      logger.warn('connection limit reached: closing the oldest connections not being answered', {
        maxConnections: max,
      });
      setTimeout(() => (warned = false), 10_000).unref();
    }
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!open.has(req.socket)) return;
    open.set(req.socket, req);
    res.once('close', () => {
      if (open.get(req.socket) === req) open.set(req.socket, undefined);
    });
  });
}

function oldestUnanswered(open: Map<Socket, IncomingMessage | undefined>): Socket | undefined {
  for (const [socket, req] of open) if (!req?.complete) return socket;
  return undefined;
}
