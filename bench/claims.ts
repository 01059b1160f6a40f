// How long the broker takes to refuse the issue-9 claims, through the real
// config compiler and policy evaluation. Usage: node scripts/run-ts.mjs bench/claims.ts [a-count]
import { stringify } from 'yaml';
import { parseConfig } from '../src/config/load.js';
import { evaluatePolicies } from '../src/policy/evaluate.js';
import { compileTrust } from '../src/policy/compile.js';

const as = Number(process.argv[2] ?? 29);
const config = parseConfig(
  stringify({
    issuer: 'https://broker.example.com',
    tokens: { audience: 'https://hub.example.com' },
    ci: {
      providers: [
        {
          name: 'github',
          issuer: 'https://token.actions.githubusercontent.com',
          audiences: ['https://broker.example.com'],
        },
      ],
      policies: [
        {
          name: 'release',
          provider: 'github',
          match: {
            repository: 'acme/models',
            ref: { regex: 'refs/heads/(release-)?([a-z0-9]+-?)+' },
          },
          grant: ['read:models/acme/*'],
        },
        {
          name: 'tags',
          provider: 'github',
          match: { repository: 'acme/models', ref: 'refs/tags/v*.*.*' },
          grant: ['read:models/acme/*'],
        },
        {
          name: 'stars',
          provider: 'github',
          match: { repository: 'acme/*a*a*a*a*b' },
          grant: ['read:models/acme/*'],
        },
      ],
    },
  }),
);

const cases: Array<[string, Record<string, string>]> = [
  [`ref refs/heads/${as} a's!`, { repository: 'evil/x', ref: `refs/heads/${'a'.repeat(as)}!` }],
  [
    'ref refs/tags/v + 2,000 dots + /',
    { repository: 'evil/x', ref: `refs/tags/v${'.'.repeat(2000)}/` },
  ],
  [
    'ref refs/tags/v + 1,000 dots + /',
    { repository: 'evil/x', ref: `refs/tags/v${'.'.repeat(1000)}/` },
  ],
  ['repository acme/ + 205 chars', { repository: `acme/${'a'.repeat(205)}` }],
];
const { policies } = compileTrust(config);
// `every` is what `explain` asks for: each matcher then reads the long claim.
for (const every of [false, true]) {
  console.log(every ? 'every condition (explain):' : 'the token endpoint:');
  for (const [name, claims] of cases) {
    const start = performance.now();
    const results = evaluatePolicies(
      policies,
      'github',
      { sub: 'repo:evil/x', ...claims },
      { every },
    );
    const ms = performance.now() - start;
    const matched = results.filter((r) => r.matched).length;
    console.log(`  ${name.padEnd(34)} ${ms.toFixed(1).padStart(9)} ms  matched ${matched}`);
  }
}
