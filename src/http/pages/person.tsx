import { formatDuration } from '../../protocol/duration.js';
import type { IssuedToken } from '../../store/types.js';
import { Layout } from './layout.js';
import { PostButton } from './post-button.js';

export interface PersonView {
  email: string;
  name: string | undefined;
  roles: string[];
  scopes: string[];
  defaultTtl: number;
  maxTtl: number;
  tokens: IssuedToken[];
  csrf: string;
  now: number;
  minted?: { token: string; scopes: string[]; expiresAt: number } | undefined;
  error?: string | undefined;
  form?: { scope: string; ttl: string } | undefined;
}

const when = (t: number) =>
  new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

function Minted({ m, now }: { m: NonNullable<PersonView['minted']>; now: number }) {
  return (
    <section class="card ok" aria-labelledby="minted-title">
      <h2 id="minted-title">Your new token</h2>
      <p>
        Copy it now: it is shown only once. It expires {when(m.expiresAt)} (in{' '}
        {formatDuration(m.expiresAt - now)}).
      </p>
      <label for="new-token">Token</label>
      <div class="copyrow">
        <input type="text" id="new-token" readonly value={m.token} aria-label="New token" />
        <button type="button" data-copy="new-token">
          Copy
        </button>
      </div>
      <label for="export-line">For a terminal</label>
      <div class="copyrow">
        <input type="text" id="export-line" readonly value={`export HF_TOKEN=${m.token}`} />
        <button type="button" data-copy="export-line">
          Copy
        </button>
      </div>
      <p class="muted">
        Scopes: <span class="mono">{m.scopes.join(' ')}</span>
      </p>
      <p id="copy-status" class="muted" role="status" aria-live="polite"></p>
    </section>
  );
}

export function PersonPage(v: PersonView) {
  return (
    <Layout title="Your tokens" who={{ email: v.email, csrf: v.csrf }}>
      <section class="card">
        <h1>{v.name ?? v.email}</h1>
        <dl>
          <dt>Signed in as</dt>
          <dd>{v.email}</dd>
          <dt>Roles</dt>
          <dd>
            {v.roles.map((r) => (
              <span class="pill">{r}</span>
            ))}
          </dd>
          <dt>You may request</dt>
          <dd>
            <ul class="scopes">
              {v.scopes.map((s) => (
                <li>
                  <code>{s}</code>
                </li>
              ))}
            </ul>
          </dd>
        </dl>
      </section>
      {v.minted && <Minted m={v.minted} now={v.now} />}
      <section class="card" aria-labelledby="mint-title">
        <h2 id="mint-title">New token</h2>
        {v.error && (
          <p class="error" role="alert">
            {v.error}
          </p>
        )}
        <form class="mint" method="post" action="/tokens">
          <input type="hidden" name="csrf" value={v.csrf} />
          <label>
            Scopes <span class="hint">space-separated; empty for all you may request</span>
            <input
              type="text"
              name="scope"
              value={v.form?.scope ?? ''}
              placeholder={v.scopes.join(' ')}
              autocomplete="off"
              spellcheck={false}
            />
          </label>
          <label>
            Lifetime <span class="hint">up to {formatDuration(v.maxTtl)}</span>
            <input
              type="text"
              name="ttl"
              value={v.form?.ttl ?? ''}
              placeholder={formatDuration(v.defaultTtl)}
              autocomplete="off"
            />
          </label>
          <button type="submit">Create token</button>
        </form>
      </section>
      <section class="card" aria-labelledby="tokens-title">
        <h2 id="tokens-title">Active tokens</h2>
        {v.tokens.length === 0 ? (
          <p class="muted">No active token.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Scopes</th>
                <th scope="col">
                  <span class="muted">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {v.tokens.map((t) => (
                <tr>
                  <td>{when(t.issuedAt)}</td>
                  <td>
                    {when(t.expiresAt)}{' '}
                    <span class="muted">(in {formatDuration(t.expiresAt - v.now)})</span>
                  </td>
                  <td class="mono">{t.scopes.join(' ')}</td>
                  <td>
                    <PostButton
                      action={`/tokens/${encodeURIComponent(t.jti)}/revoke`}
                      csrf={v.csrf}
                      label="Revoke"
                      ariaLabel={`Revoke the token created ${when(t.issuedAt)}`}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Layout>
  );
}
