import { generateKeyPair } from 'jose';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, nowSeconds } from '../../src/shared/clock.js';
import type { Logger } from '../../src/shared/log.js';
import { issued, startBroker, testConfig, type TestBroker } from '../helpers/broker.js';
import { CI_POLICIES } from '../helpers/ci.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import {
  ACS_URL,
  ROLES,
  SP_ENTITY_ID,
  loginCookie,
  sessionCookie,
} from '../helpers/saml-broker.js';
import { TestIdp, readAuthnRequest, unb64 } from '../helpers/saml-idp.js';
import { selfSignedCert, type TestKeyPair } from '../helpers/x509.js';
import type { SigningKey } from './jwt.js';

/**
 * One broker with everything switched on: two real CI issuers on loopback
 * (GitHub- and GitLab-shaped), a real signing SAML IdP, the CI policies and
 * SSO roles of the other tests, rate limits off. The fuzzer's state lives
 * here: the tokens the broker issued (so an oracle can tell a live token from
 * a forged one) and pools of signed material to mutate.
 */
/**
 * A policy whose matchers backtrack badly in a naive regex engine, for the
 * claims the fuzzer sends (`aaaa…!`): a slow answer is a finding.
 */
export const REDOS_PROBE = {
  name: 'redos-probe',
  provider: 'github',
  match: {
    repository: 'acme/redos',
    // Inputs stay small enough (30 a's, 48 b's) that a backtracking engine takes seconds, not hours.
    actor: { regex: '(a+)+b' },
    workflow: '*b*b*b*b*b*b*b*b*c',
  },
  grant: ['read:models/acme/redos'],
};

export interface IssuedRecord {
  token: string;
  jti: string;
  subject: string;
  scopes: string[];
  expiresAt: number;
  parent: string | undefined;
  revoked: boolean;
}

export interface PendingLogin {
  cookie: string;
  id: string;
  xml: string;
  email: string;
}

export interface WebSession {
  cookie: string;
  csrf: string;
}

export class World {
  /** Every token the broker issued, by token string. */
  readonly issued = new Map<string, IssuedRecord>();
  /** CI token jtis the broker has accepted (a replay must be refused). */
  readonly usedJtis = new Set<string>();
  readonly stranger: { rs: SigningKey; es: SigningKey };
  readonly forgerIdp: TestKeyPair;
  /** Broker tokens minted at start, as narrowing and introspection inputs. */
  readonly brokerTokens: IssuedRecord[] = [];
  private readonly logins: Array<PendingLogin | undefined> = [];
  private readonly sessions: Array<WebSession | undefined> = [];

  private constructor(
    readonly broker: TestBroker,
    readonly github: TestIssuer,
    readonly gitlab: TestIssuer,
    readonly idp: TestIdp,
    readonly clock: ManualClock,
    stranger: { rs: SigningKey; es: SigningKey },
    /** Every `logger.error` the broker wrote: an unexpected failure even when the status hides it. */
    readonly errors: Array<{ msg: string; fields: unknown }>,
  ) {
    this.stranger = stranger;
    this.forgerIdp = selfSignedCert('fuzz-forger');
  }

  static async start(): Promise<World> {
    const clock = new ManualClock(Date.now());
    const github = await startTestIssuer();
    const gitlab = await startTestIssuer();
    // GitHub signs with ES256 here (its RS256 key stays published), GitLab with RS256: both verify paths, and cheaper signing.
    await github.rotate('ES256');
    const idp = new TestIdp(() => clock.now());
    const provider = (name: string, issuer: TestIssuer) => ({
      name,
      issuer: issuer.url,
      kind: name,
      audiences: ['https://broker.test'],
    });
    const config = await testConfig({
      ci: {
        providers: [provider('github', github), provider('gitlab', gitlab)],
        policies: [...CI_POLICIES, REDOS_PROBE],
      },
      sso: {
        saml: {
          idp: { entity_id: idp.entityId, entry_point: idp.ssoUrl, certs: [idp.keys.certPem] },
          clock_skew: '2m',
        },
        roles: ROLES,
      },
    });
    const errors: Array<{ msg: string; fields: unknown }> = [];
    const logger: Logger = {
      info() {},
      warn() {},
      error: (msg, fields) => errors.push({ msg, fields }),
    };
    // A real SQLite file, on tmpfs where there is one: every denial writes an
    // audit row with fsync, and a disk's fsync would cap the run at ~100 req/s.
    const dir = existsSync('/dev/shm')
      ? mkdtempSync(join('/dev/shm', 'tokenbroker-fuzz-'))
      : undefined;
    const broker = await startBroker({ config, clock, logger, ...(dir ? { dir } : {}) });
    const strangerKey = async (alg: 'RS256' | 'ES256'): Promise<SigningKey> => {
      const { privateKey } = await generateKeyPair(alg);
      return { alg, kid: github.signingKey().kid, privateKey };
    };
    const stranger = { rs: await strangerKey('RS256'), es: await strangerKey('ES256') };
    const w = new World(broker, github, gitlab, idp, clock, stranger, errors);
    await w.seedBrokerTokens();
    return w;
  }

  nowSeconds(): number {
    return nowSeconds(this.clock);
  }

  issuerOf(provider: 'github' | 'gitlab'): TestIssuer {
    return provider === 'github' ? this.github : this.gitlab;
  }

  /** The key each issuer signs with (published in its JWKS). */
  signingKey(provider: 'github' | 'gitlab'): SigningKey {
    const k = this.issuerOf(provider).signingKey();
    return { alg: k.alg, kid: k.kid, privateKey: k.privateKey };
  }

  record(rec: IssuedRecord): void {
    this.issued.set(rec.token, rec);
  }

  /** Revoking a token revokes the tokens narrowed from it, at any depth. */
  revoke(jti: string): void {
    const gone = new Set([jti]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const r of this.issued.values()) {
        if (!gone.has(r.jti) && r.parent !== undefined && gone.has(r.parent)) {
          gone.add(r.jti);
          grew = true;
        }
      }
    }
    for (const r of this.issued.values()) if (gone.has(r.jti)) r.revoked = true;
  }

  /** True when the broker should still call this token alive. */
  isLive(token: string): boolean {
    const r = this.issued.get(token);
    return r !== undefined && !r.revoked && r.expiresAt > this.nowSeconds();
  }

  private async seedBrokerTokens(): Promise<void> {
    const b = this.broker;
    const mint = async (scopes: string[], ttl: number, subject = 'user:alice@example.com') => {
      const m = await issued(
        b.minter.mint({
          subject,
          scopes,
          ttlSeconds: ttl,
          clientId: 'test',
          source: 'web',
          audit: { source: 'web' },
        }),
      );
      const rec: IssuedRecord = {
        token: m.token,
        jti: m.jti,
        subject,
        scopes: m.scopes,
        expiresAt: m.expiresAt,
        parent: undefined,
        revoked: false,
      };
      this.record(rec);
      this.brokerTokens.push(rec);
      return rec;
    };
    const expiring = await mint(['read:models/acme/bert'], 1);
    await mint(['read:models/acme/*', 'write:models/acme/bert'], 3600);
    await mint(['read:**'], 3600);
    await mint(['write:models/acme/*', 'read:datasets/acme/**'], 1800, 'ci:github:repo:acme/x');
    await mint(['*:models/acme/bert'], 3600);
    const revoked = await mint(['read:models/acme/bert'], 3600);
    await b.store.revokeToken(revoked.jti, this.nowSeconds(), {
      time: this.nowSeconds(),
      event: 'token.revoked',
      outcome: 'success',
      source: 'revoke',
      jti: revoked.jti,
    });
    this.revoke(revoked.jti);
    this.clock.advance(2); // `expiring` is now dead
    void expiring;
  }

  /** A started login and a response the IdP signed for it; reused until it is accepted. */
  async login(slot: number, email = 'alice@example.com'): Promise<PendingLogin> {
    const have = this.logins[slot];
    if (have && have.email === email) return have;
    const res = await this.broker.app.request('/saml/login?return_to=%2F');
    const cookie = loginCookie(res);
    if (res.status !== 302 || !cookie)
      throw new Error(`fuzz setup: /saml/login answered ${res.status}`);
    const { id } = readAuthnRequest(res.headers.get('location')!);
    const xml = unb64(
      this.idp.response({
        acsUrl: ACS_URL,
        audience: SP_ENTITY_ID,
        inResponseTo: id,
        nameId: email,
        attributes: {
          email: [email],
          groups: ['ml-engineers'],
          displayName: ['Fuzz <x-fz a="1">'],
        },
      }),
    );
    const login = { cookie, id, xml, email };
    this.logins[slot] = login;
    return login;
  }

  /** Forgets a login whose response was accepted (its assertion cannot be used twice). */
  spent(slot: number): void {
    this.logins[slot] = undefined;
  }

  /** A logged-in browser: its session cookie and the CSRF field of its page. */
  async session(slot: number): Promise<WebSession> {
    const have = this.sessions[slot];
    if (have) return have;
    const login = await this.login(1000 + slot);
    const res = await this.broker.app.request('/saml/acs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: login.cookie },
      body: new URLSearchParams({ SAMLResponse: Buffer.from(login.xml).toString('base64') }),
    });
    this.spent(1000 + slot);
    const cookie = sessionCookie(res);
    if (res.status !== 303 || !cookie)
      throw new Error(`fuzz setup: /saml/acs answered ${res.status}`);
    const page = await (await this.broker.app.request('/', { headers: { Cookie: cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    if (!csrf) throw new Error('fuzz setup: no CSRF field on the person page');
    const s = { cookie, csrf };
    this.sessions[slot] = s;
    return s;
  }

  /** A session that a request may have ended (logout): forget it so the next case logs in again. */
  dropSession(slot: number): void {
    this.sessions[slot] = undefined;
  }

  async close(): Promise<void> {
    await this.broker.cleanup();
    if (this.broker.dir.startsWith('/dev/shm/'))
      rmSync(this.broker.dir, { recursive: true, force: true });
    await this.github.close();
    await this.gitlab.close();
  }
}
