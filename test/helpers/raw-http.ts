import { connect, type Socket } from 'node:net';

/** A raw TCP client, to send HTTP as slowly or as brokenly as an attacker would. */
export interface RawClient {
  socket: Socket;
  /** Everything the server has sent so far. */
  received(): string;
  /** Resolves when the server (or the client) has closed the connection. */
  closed: Promise<void>;
  /** Milliseconds from connect to close, once closed. */
  closedAfterMs(): number | undefined;
  write(text: string): void;
  /** Writes `text` one character every `everyMs` until it is all sent or the socket closes. */
  dribble(text: string, everyMs: number): Promise<void>;
  /** Waits until the server's answer matches, or the connection closes. */
  waitFor(pattern: RegExp): Promise<string>;
}

export function rawClient(url: string, localAddress?: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    const started = Date.now();
    let answer = '';
    let closedAt: number | undefined;
    const waiters: (() => void)[] = [];
    socket.on('data', (d) => {
      answer += d.toString();
      waiters.forEach((w) => w());
    });
    socket.on('error', () => {}); // a reset from the server is an expected outcome here
    const closed = new Promise<void>((r) =>
      socket.once('close', () => {
        closedAt = Date.now();
        waiters.forEach((w) => w());
        r();
      }),
    );
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => answer,
        closed,
        closedAfterMs: () => (closedAt === undefined ? undefined : closedAt - started),
        write: (text) => {
          if (!socket.destroyed) socket.write(text);
        },
        async dribble(text, everyMs) {
          for (const ch of text) {
            if (socket.destroyed || closedAt !== undefined) return;
            socket.write(ch);
            await new Promise((r) => setTimeout(r, everyMs));
          }
        },
        waitFor: (pattern) =>
          new Promise((r) => {
            const check = () => {
              if (pattern.test(answer) || closedAt !== undefined) r(answer);
              else waiters.push(check);
            };
            check();
          }),
      }),
    );
    socket.once('error', reject);
  });
}
