import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The system Chromium that browser tests drive (playwright-core downloads
 * none): CHROMIUM_PATH if set, else the first chromium or chromium-browser on
 * PATH. Fails with how to install it, rather than a launch error.
 */
export function chromiumPath(env: Record<string, string | undefined> = process.env): string {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  throw new Error(
    'no Chromium found for the browser tests: install it (Debian: `apt-get install chromium`; `.ci/run` does) or set CHROMIUM_PATH to its executable',
  );
}
