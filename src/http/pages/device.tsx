import { formatDuration } from '../../protocol/duration.js';
import type { DeviceReview } from '../../exchange/device-flow.js';
import { displayUserCode } from '../../exchange/device-codes.js';
import type { DeviceCode } from '../../store/types.js';
import { printable } from '../html.js';
import { Layout } from './layout.js';

/** What the approval page shows: a form for the code, or the request it names. */
export type DeviceState =
  | { kind: 'enter'; typed?: string | undefined; error?: string | undefined }
  | { kind: 'review'; code: DeviceCode; review: DeviceReview; error?: string | undefined }
  | { kind: 'expired'; code: DeviceCode }
  | { kind: 'decided'; code: DeviceCode; mine: boolean };

export interface DeviceView {
  email: string;
  csrf: string;
  now: number;
  /** The person's roles, named where a scope is beyond them. */
  roles: string[];
  /** This browser's address, to compare with the requester's. */
  viewerAddress: string | null;
  state: DeviceState;
}

const when = (t: number) =>
  new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

/** Everything the device sent is its own text: escaped by JSX, control characters marked. */
const theirs = (text: string | null, none: string) => (text === null ? none : printable(text));

function Enter({ typed, error }: { typed?: string | undefined; error?: string | undefined }) {
  return (
    <section class="card center" aria-labelledby="enter-title">
      <h1 id="enter-title">Connect a terminal</h1>
      <p>
        Enter the code your terminal shows (after <code>tokenbroker login</code>, for example).
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <form class="code" method="get" action="/device">
        <label>
          Code <span class="hint">8 letters; case and the dash do not matter</span>
          <input
            type="text"
            name="user_code"
            value={typed ?? ''}
            placeholder="XXXX-XXXX"
            autocomplete="off"
            autocapitalize="characters"
            spellcheck={false}
            maxlength={32}
            autofocus
          />
        </label>
        <button type="submit">Continue</button>
      </form>
    </section>
  );
}

function Decision({ code, csrf, verdict }: { code: DeviceCode; csrf: string; verdict: string }) {
  const approve = verdict === 'approve';
  return (
    <form method="post" action={`/device/${verdict}`}>
      <input type="hidden" name="csrf" value={csrf} />
      <input type="hidden" name="user_code" value={displayUserCode(code.userCode)} />
      <button type="submit" class={approve ? undefined : 'secondary'}>
        {approve ? 'Approve' : 'Deny'}
      </button>
    </form>
  );
}

function Review(props: { v: DeviceView; code: DeviceCode; review: DeviceReview; error?: string }) {
  const { v, code, review } = props;
  const refused = review.scopes.filter((s) => s.grantedBy.length === 0);
  return (
    <section class="card" aria-labelledby="review-title">
      <h1 id="review-title">Approve a sign-in from a terminal?</h1>
      <p>
        A program asks for a token in your name. Approve only if you started it yourself, just now,
        and it shows this code:
      </p>
      <p class="usercode" aria-label="Code">
        {displayUserCode(code.userCode)}
      </p>
      <dl>
        <dt>Asked at</dt>
        <dd>
          {when(code.createdAt)}{' '}
          <span class="muted">({formatDuration(v.now - code.createdAt)} ago)</span>
        </dd>
        <dt>From address</dt>
        <dd class="mono">
          {theirs(code.clientAddress, 'unknown')}
          {code.clientAddress !== null &&
            v.viewerAddress !== null &&
            code.clientAddress !== v.viewerAddress && (
              <span class="warning">
                {' '}
                (not this browser's address, {printable(v.viewerAddress)}: approve only if you
                started this request on another machine yourself)
              </span>
            )}
        </dd>
        {/* The requester writes these two as it likes: say so, so they are not read as proof. */}
        <dt>Program (as the requester states it)</dt>
        <dd class="mono">{theirs(code.userAgent, 'not given')}</dd>
        {code.clientId !== null && (
          <>
            <dt>Client id (as the requester states it)</dt>
            <dd class="mono">{theirs(code.clientId, '')}</dd>
          </>
        )}
        <dt>Lifetime</dt>
        <dd>
          {code.ttlSeconds === null ? 'the default' : `${formatDuration(code.ttlSeconds)} asked`}
          {review.ttlSeconds !== undefined &&
            `; the token would live ${formatDuration(review.ttlSeconds)}`}
        </dd>
        <dt>Code expires</dt>
        <dd>in {formatDuration(code.expiresAt - v.now)}</dd>
      </dl>
      <h2 class="section">Scopes</h2>
      {code.scopes === null && (
        <p class="muted">No scope was named: the token would get everything your roles grant.</p>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">Scope</th>
            <th scope="col">Granted by</th>
          </tr>
        </thead>
        <tbody>
          {review.scopes.map((s) => (
            <tr>
              <td class="mono">{s.scope}</td>
              <td>
                {s.grantedBy.length > 0 ? (
                  s.grantedBy.map((r) => <span class="pill">{r}</span>)
                ) : (
                  <strong class="refused">
                    not granted: none of your roles ({v.roles.join(', ')}) grants it
                  </strong>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!review.approvable && (
        <p class="error" role="alert">
          {refused.length > 0
            ? `You cannot approve this request: ${refused.length === 1 ? 'one scope it asks for is' : `${refused.length} scopes it asks for are`} beyond your roles.`
            : 'You cannot approve this request: your roles grant no scope.'}{' '}
          Deny it, then in the terminal ask only for scopes your roles grant (they are listed on{' '}
          <a href="/">your page</a>).
        </p>
      )}
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
      <div class="actions">
        {review.approvable && <Decision code={code} csrf={v.csrf} verdict="approve" />}
        <Decision code={code} csrf={v.csrf} verdict="deny" />
      </div>
    </section>
  );
}

function Outcome({ code, mine, expired }: { code: DeviceCode; mine: boolean; expired: boolean }) {
  const shown = displayUserCode(code.userCode);
  let title: string;
  let text: string;
  if (expired) {
    title = 'This code has expired';
    text = `Code ${shown} was not approved in time (a code lasts 10 minutes). Start again in your terminal (tokenbroker login) and enter the new code it shows.`;
  } else if (!mine) {
    title = 'This code was used already';
    text = `Code ${shown} has been approved or denied already, and a code is good for one decision. If you are logging in, start again in your terminal for a new code.`;
  } else if (code.status === 'denied') {
    title = 'You denied this request';
    text = `The terminal that showed ${shown} is told so at its next poll and gets no token.`;
  } else if (code.status === 'redeemed') {
    title = 'Your terminal has its token';
    text = `The terminal that showed ${shown} has received its token. It is listed on your page, where you can revoke it.`;
  } else {
    title = 'You approved this request';
    text = `The terminal that showed ${shown} receives its token at its next poll, within seconds. It will be listed on your page, where you can revoke it.`;
  }
  return (
    <section class={`card center${!expired && mine && code.status !== 'denied' ? ' ok' : ''}`}>
      <h1>{title}</h1>
      <p>{text}</p>
      <p>
        <a href="/">Go to your page</a>
      </p>
    </section>
  );
}

export function DevicePage(v: DeviceView) {
  const s = v.state;
  return (
    <Layout title="Connect a terminal" who={{ email: v.email, csrf: v.csrf }}>
      {s.kind === 'enter' && <Enter typed={s.typed} error={s.error} />}
      {s.kind === 'review' && <Review v={v} code={s.code} review={s.review} error={s.error} />}
      {s.kind === 'expired' && <Outcome code={s.code} mine={false} expired />}
      {s.kind === 'decided' && <Outcome code={s.code} mine={s.mine} expired={false} />}
    </Layout>
  );
}
