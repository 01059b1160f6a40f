/**
 * The demo IdP's three people, one per outcome a role mapping can have: the
 * demo config's roles (config.ts) match their groups.
 */
export interface DemoUser {
  /** The form's value and the email's local part. */
  id: string;
  email: string;
  name: string;
  groups: string[];
  /** What the demo config lets them do, for the login form and the banner. */
  access: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    id: 'ada',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    groups: ['ml-engineers'],
    access: 'writes models/acme/*, reads datasets/acme/**',
  },
  {
    id: 'ben',
    email: 'ben@example.com',
    name: 'Ben Reader',
    groups: ['analysts'],
    access: 'reads models/acme/* and datasets/acme/** only',
  },
  {
    id: 'cy',
    email: 'cy@example.com',
    name: 'Cy Contractor',
    groups: ['contractors'],
    access: 'no role: the broker shows the no-access page',
  },
];

export function demoUser(id: string | undefined): DemoUser | undefined {
  return DEMO_USERS.find((u) => u.id === id);
}
