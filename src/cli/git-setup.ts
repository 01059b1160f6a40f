import { escapeForTerminal } from '../shared/terminal.js';
import type { StoredLogin } from './credentials.js';
import type { Host } from './host.js';
import { CliError } from './io.js';
import { workspaceOrigins } from './logins.js';

/**
 * `tokenbroker login --setup-git`, as `gh auth setup-git` does: git asks
 * tokenbroker for the workspace's URL, and only tokenbroker (the empty value
 * first clears helpers configured before it, such as `store`, which would
 * otherwise write the token to ~/.git-credentials in plain text). Running it
 * again leaves the same two lines. Returns the workspace origin.
 */
export async function setupGit(login: StoredLogin, host: Pick<Host, 'git'>): Promise<string> {
  const [origin] = workspaceOrigins(login);
  if (!origin) {
    throw new CliError(
      `the token's audience ${escapeForTerminal(JSON.stringify(login.audience))} is not an https URL, so git cannot be set up for it: configure git by hand (see \`tokenbroker git-credential --help\`)`,
    );
  }
  const key = `credential.${origin}.helper`;
  for (const args of [
    ['config', '--global', '--replace-all', key, ''],
    ['config', '--global', '--add', key, 'tokenbroker'],
  ]) {
    const { code, stderr } = await host.git(args);
    if (code !== 0) {
      throw new CliError(
        `git config failed (${escapeForTerminal(stderr.trim())}): run \`git config --global ${key} tokenbroker\` yourself`,
      );
    }
  }
  return origin;
}
