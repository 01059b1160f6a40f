#!/usr/bin/env node
// git runs the credential helper `tokenbroker` as `git credential-tokenbroker <args>`:
// that is `tokenbroker git-credential <args>`.
process.argv.splice(2, 0, 'git-credential');
await import('../dist/cli.js');
