import { Layout } from '../http/pages/layout.js';
import { DEMO_USERS } from './users.js';

/*
 * The demo IdP's pages, in the broker's own layout (and stylesheet) with
 * "demo" in the header, so the login looks like a step of the demo, not
 * like someone's company login.
 */

/** The IdP's login form: one button per demo person, no password. */
export function LoginPage(props: { requestId: string; relayState: string }) {
  return (
    <Layout title="Demo IdP: log in">
      <section class="card">
        <h1>Demo IdP: choose who logs in</h1>
        <p class="muted">
          This stands in for your company's IdP (Okta, Entra ID, ...). It asks for no password:
          anyone on this machine can log in as anyone, which is why the demo listens on loopback
          only.
        </p>
        <form method="post" action="/demo/saml/login">
          <input type="hidden" name="request" value={props.requestId} />
          <input type="hidden" name="relay" value={props.relayState} />
          <table>
            <thead>
              <tr>
                <th>Person</th>
                <th>Groups</th>
                <th>In the demo config</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {DEMO_USERS.map((u) => (
                <tr>
                  <td>
                    {u.name}
                    <br />
                    <span class="muted mono">{u.email}</span>
                  </td>
                  <td>{u.groups.join(', ')}</td>
                  <td>{u.access}</td>
                  <td>
                    <button type="submit" name="user" value={u.id}>
                      Log in as {u.id}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </form>
      </section>
    </Layout>
  );
}

/**
 * What an IdP answers a login with: a form carrying the signed Response to
 * the broker's ACS, posted by /demo/static/autopost.js (the page's CSP allows
 * no inline script), or by hand without JavaScript.
 */
export function PostToAcsPage(props: {
  acsUrl: string;
  samlResponse: string;
  relayState: string;
  email: string;
}) {
  return (
    <Layout title="Demo IdP: logging in">
      <section class="card center">
        <h1>Logging in as {props.email}</h1>
        <form id="autopost" method="post" action={props.acsUrl}>
          <input type="hidden" name="SAMLResponse" value={props.samlResponse} />
          {props.relayState && <input type="hidden" name="RelayState" value={props.relayState} />}
          <p class="muted">Sending the signed SAML response to the broker.</p>
          <button type="submit">Continue</button>
        </form>
        <script src="/demo/static/autopost.js" defer></script>
      </section>
    </Layout>
  );
}

export const AUTOPOST_SCRIPT = `document.getElementById('autopost')?.submit();\n`;

/** /demo/: what the demo is and what to try. */
export function DemoHomePage(props: { url: string; commands: string[] }) {
  return (
    <Layout title="Demo">
      <section class="card">
        <h1>The tokenbroker demo</h1>
        <p>
          A broker with a demo config, a test SAML IdP and a test CI issuer, all on this machine.
          Nothing here is for real access.
        </p>
        <h2 class="section">A person</h2>
        <p>
          <a href="/saml/login">Log in</a> as one of:
        </p>
        <ul>
          {DEMO_USERS.map((u) => (
            <li>
              <span class="mono">{u.email}</span> ({u.groups.join(', ')}): {u.access}
            </li>
          ))}
        </ul>
        <h2 class="section">A CI job</h2>
        <p>Mint a GitHub-shaped OIDC token, then exchange it:</p>
        <pre class="mono">{props.commands.join('\n')}</pre>
      </section>
    </Layout>
  );
}
