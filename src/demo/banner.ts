import { DEMO_USERS } from './users.js';

/*
 * What the demo prints at start: where to log in, and commands that work when
 * pasted into a shell (POSIX sh; the test runs them as printed).
 */

/** The two commands a CI job would run: mint its OIDC token, exchange it. */
export function ciCommands(url: string): string[] {
  return [
    `CI_TOKEN=$(curl -s -X POST ${url}/demo/ci-token)`,
    `curl -s ${url}/token -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d subject_token_type=urn:ietf:params:oauth:token-type:id_token -d subject_token="$CI_TOKEN"`,
  ];
}

/**
 * The banner. `cli` is how this shell reaches the CLI (`tokenbroker`, or
 * `node bin/tokenbroker.js` in a clone, where no `tokenbroker` is on PATH).
 */
export function demoBanner(o: { url: string; database: string; cli: string }): string {
  const width = Math.max(...DEMO_USERS.map((u) => u.email.length));
  const users = DEMO_USERS.map(
    (u) => `      ${u.email.padEnd(width)}  ${u.groups.join(', ')}: ${u.access}`,
  );
  return [
    `tokenbroker: serving the demo on ${o.url} (database ${o.database})`,
    '',
    '  This is the DEMO: a test SAML IdP that logs anyone in and a test CI issuer that signs',
    '  any claims, under /demo/. For a real broker, write ./tokenbroker.yaml (see',
    '  examples/tokenbroker.yaml) or pass --config.',
    '',
    `  1. A person: open ${o.url}/ and log in as one of`,
    ...users,
    '',
    '  2. A CI job: mint a GitHub-shaped OIDC token, exchange it for a workspace token',
    ...ciCommands(o.url).map((c) => `      ${c}`),
    `     (change claims with -H 'Content-Type: application/json' -d '{"ref":"refs/heads/feature/x"}')`,
    '',
    '  3. A terminal: log in with the device flow',
    `      ${o.cli} login --broker ${o.url}`,
    '',
    `  More on ${o.url}/demo/ . Ctrl-C stops the demo.`,
    '',
  ].join('\n');
}
