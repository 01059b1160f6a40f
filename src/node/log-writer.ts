/**
 * Writes log lines to stdout once per turn of the event loop instead of once
 * per line: writing to a file or pipe is a synchronous system call on Linux,
 * and one per request showed in the request path's profile. Lines still
 * queued when the process exits are written before it does.
 */
let queued: string[] = [];
let hooked = false;

function flush(): void {
  if (queued.length === 0) return;
  const text = `${queued.join('\n')}\n`;
  queued = [];
  process.stdout.write(text);
}

export function stdoutLine(line: string): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', flush);
  }
  if (queued.push(line) === 1) setImmediate(flush);
}
