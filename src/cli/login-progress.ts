import type { PollWait } from '../client/device.js';
import { escapeForTerminal } from '../shared/terminal.js';
import type { Host } from './host.js';

const FRAMES = ['|', '/', '-', '\\'];
/** How often the spinner turns and the countdown is redrawn. */
const TICK_MS = 250;

/**
 * What the person sees while the CLI waits for the approval. On a terminal,
 * one line redrawn in place: a spinner, the time left before the code
 * expires, and why the pace changed if it did. Elsewhere (a log, a pipe),
 * plain lines, one per change of pace and none per poll, so that a
 * ten-minute wait is a few lines, not a hundred.
 */
export class LoginProgress {
  private expiresAt = 0;
  private note = '';
  private frame = 0;

  constructor(
    private readonly host: Pick<Host, 'now' | 'sleep' | 'statusLine'>,
    /** Writes one line on stderr (the caller escapes nothing: every field is escaped here). */
    private readonly say: (line: string) => void,
  ) {}

  readonly onWait = (wait: PollWait): void => {
    this.expiresAt = wait.expiresAt;
    const every = `checking every ${wait.interval}s`;
    const again = `checking again in ${Math.round(wait.waitMs / 1000)}s`;
    const notes: Record<PollWait['reason'], string> = {
      start: '',
      authorization_pending: '',
      slow_down: `the broker asked to slow down: ${every}`,
      rate_limited: `the broker is rate limiting: ${again}`,
      unreachable: `${escapeForTerminal(wait.problem ?? 'the broker did not answer')}: ${again}`,
    };
    this.note = notes[wait.reason];
    if (this.host.statusLine) return;
    if (wait.reason === 'start') {
      this.say(`waiting for the approval (${every}; the code expires at ${iso(wait.expiresAt)})`);
    } else if (this.note) {
      this.say(this.note);
    }
  };

  /** The poller's sleep: on a terminal, the spinner turns while it lasts. */
  readonly sleep = async (ms: number): Promise<void> => {
    const line = this.host.statusLine;
    if (!line) return this.host.sleep(ms);
    const end = this.host.now() + ms;
    for (;;) {
      line.show(this.statusText());
      const left = end - this.host.now();
      if (left <= 0) return;
      await this.host.sleep(Math.min(TICK_MS, left));
      this.frame++;
    }
  };

  /** Clears the spinner's line before the next message. */
  done(): void {
    this.host.statusLine?.clear();
  }

  private statusText(): string {
    const left = Math.max(0, Math.ceil((this.expiresAt - this.host.now()) / 1000));
    const clock = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    const spinner = FRAMES[this.frame % FRAMES.length];
    return `${spinner} waiting for the approval in the browser, ${clock} left${this.note ? ` (${this.note})` : ''}`;
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
