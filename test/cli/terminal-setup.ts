import { join } from 'node:path';
import type { Host, StatusLine } from '../../src/cli/host.js';
import { CredentialsFile, credentialsPath } from '../../src/cli/credentials.js';
import { storedLogin } from '../../src/cli/logins.js';
import { ManualClock } from '../../src/shared/clock.js';
import { mintFor, startBroker, testConfig, type TestBroker } from '../helpers/broker.js';
import { instantRetry } from '../helpers/cli.js';
import { listen } from '../helpers/listen.js';

/** A person's machine for the terminal commands: a temporary HOME, its config folder. */
export interface Home {
  env: Record<string, string | undefined>;
  file: CredentialsFile;
}

export function homeIn(dir: string): Home {
  const env = {
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    PATH: process.env.PATH,
    GIT_CONFIG_NOSYSTEM: '1',
  };
  return { env, file: new CredentialsFile(credentialsPath(env, 'linux', () => dir)) };
}

/**
 * The machine around a command, on a clock that moves only when the command
 * sleeps: no real waiting, no browser (the URLs it would open are recorded),
 * no terminal unless a test asks for one. Git stays the real one.
 */
export function fakeHost(
  clock: { now: number },
  parts: Partial<Host> & { opened?: string[] } = {},
): Partial<Host> {
  const { opened = [], ...rest } = parts;
  return {
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
    retry: instantRetry(),
    interactive: false,
    statusLine: undefined,
    openBrowser: async (url) => {
      opened.push(url);
      return false;
    },
    platform: 'linux',
    ...rest,
  };
}

/** A status line that records what it showed. */
export function recordingStatusLine(): StatusLine & { shown: string[]; cleared: number } {
  const line = {
    shown: [] as string[],
    cleared: 0,
    show: (text: string) => void line.shown.push(text),
    clear: () => void line.cleared++,
  };
  return line;
}

/** A real broker on a loopback port, its issuer its own URL (so discovery points back at it). */
export async function listeningBroker(): Promise<{
  broker: TestBroker;
  url: string;
  close: () => Promise<void>;
}> {
  const late: { broker?: TestBroker } = {};
  const front = await listen((req) => late.broker!.app.fetch(req));
  const broker = await startBroker({
    clock: new ManualClock(Date.now()),
    config: await testConfig({ issuer: front.url }),
  });
  late.broker = broker;
  return {
    broker,
    url: front.url,
    close: async () => {
      await front.close();
      await broker.cleanup();
    },
  };
}

/** Mints a token at `broker` and stores it as `tokenbroker login` would have. */
export async function storeMinted(
  home: Home,
  brokerUrl: string,
  broker: TestBroker,
  scopes = ['read:models/acme/*'],
  ttlSeconds = 900,
): Promise<string> {
  const minted = await mintFor(broker, scopes, ttlSeconds);
  const now = broker.clock.now();
  home.file.save(
    brokerUrl,
    storedLogin(
      {
        accessToken: minted.token,
        expiresAt: new Date(now + minted.expiresIn * 1000),
        scope: minted.scopes.join(' '),
      },
      now,
    ),
  );
  return minted.token;
}
