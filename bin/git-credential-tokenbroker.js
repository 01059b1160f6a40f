#!/usr/bin/env node
// git runs the credential helper `tokenbroker` as `git credential-tokenbroker <args>`:
// `tokenbroker git-credential <args>`, from a bundle without the server, to start fast.
import '../dist/git-credential.js';
