import { Hono } from 'hono';

/**
 * The page's stylesheet and its one script, served as files so the
 * Content-Security-Policy can forbid inline code. Kept as strings in the
 * bundle (not read from disk) so they are served the same way on Workers.
 */
const STYLE = `
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde2ea; --bg:#f5f7fa; --card:#fff;
  --accent:#2451b8; --accent-fg:#fff; --ok:#e8f5ec; --ok-line:#9cd3ad; --err:#fdecec; --err-line:#e9a1a1; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header.bar { display:flex; align-items:center; justify-content:space-between; gap:1rem;
  padding:.7rem 1.5rem; background:var(--card); border-bottom:1px solid var(--line); }
.brand { font-weight:650; letter-spacing:.01em; }
.brand .label { margin-left:.5rem; padding:.05rem .45rem; border-radius:4px; background:#f0b429;
  font-size:.75rem; font-weight:700; text-transform:uppercase; letter-spacing:.06em; }
.who { display:flex; align-items:center; gap:.75rem; color:var(--muted); }
main { max-width:56rem; margin:1.5rem auto; padding:0 1rem; display:grid; gap:1rem; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:1.1rem 1.4rem; }
.card.ok { background:var(--ok); border-color:var(--ok-line); }
h1 { font-size:1.35rem; margin:0 0 .6rem; } h2 { font-size:1.05rem; margin:0 0 .7rem; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:.35rem 1.2rem; margin:0; }
dt { color:var(--muted); } dd { margin:0; }
.pill { display:inline-block; padding:.05rem .55rem; margin:0 .3rem .3rem 0; border-radius:999px;
  background:#eef2fb; border:1px solid #cdd7ef; font-size:.85rem; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:.85rem; }
ul.scopes { margin:0; padding:0; list-style:none; display:flex; flex-wrap:wrap; gap:.3rem; }
ul.scopes code { background:#f0f2f6; border-radius:4px; padding:.05rem .35rem; }
form.mint { display:grid; grid-template-columns:1fr 10rem auto; gap:.8rem; align-items:end; }
label { display:grid; gap:.25rem; font-weight:550; font-size:.9rem; }
.hint { font-weight:400; color:var(--muted); font-size:.8rem; }
input[type=text] { width:100%; padding:.45rem .6rem; border:1px solid #b9c1cf; border-radius:6px; font:inherit; font-weight:400; }
button { font:inherit; padding:.45rem .95rem; border-radius:6px; border:1px solid var(--accent);
  background:var(--accent); color:var(--accent-fg); cursor:pointer; }
button.secondary { background:var(--card); color:var(--accent); }
button.danger { background:var(--card); color:#a12828; border-color:#d9a3a3; padding:.25rem .7rem; }
:focus-visible { outline:3px solid #f0b429; outline-offset:2px; }
.copyrow { display:flex; gap:.5rem; margin:.3rem 0 .8rem; }
.copyrow input { flex:1; font-family:ui-monospace,Menlo,Consolas,monospace; font-size:.8rem; background:#fff; }
.error { background:var(--err); border:1px solid var(--err-line); border-radius:6px; padding:.5rem .8rem; margin:0 0 .8rem; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:.45rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:550; font-size:.85rem; }
td form { margin:0; }
.muted { color:var(--muted); }
.warning { color:#a01c1c; font-weight:550; }
.center { max-width:36rem; }
.usercode { font-family:ui-monospace,Menlo,Consolas,monospace; font-size:1.8rem; letter-spacing:.12em; margin:.4rem 0 1rem; }
.actions { display:flex; gap:.8rem; margin-top:1rem; }
.actions form { margin:0; }
.refused { color:#a12828; font-weight:550; }
h2.section { margin-top:1.3rem; }
table + .error { margin-top:.8rem; }
form.code { display:grid; grid-template-columns:1fr auto; gap:.8rem; align-items:end; }
form.search { display:grid; grid-template-columns:repeat(3,1fr) auto; gap:.8rem; align-items:end; }
@media (max-width:640px) { form.mint, form.search { grid-template-columns:1fr; } }
/* Phones: long tokens, scopes and emails wrap instead of widening the page; the header keeps
   "Log out" on one line and shortens the email. */
main > *, dd, td, th { min-width:0; }
h1, dd, td, code, .pill { overflow-wrap:anywhere; }
dl { grid-template-columns:max-content minmax(0,1fr); }
button { white-space:nowrap; }
.who { min-width:0; }
.who span { min-width:0; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
@media (max-width:480px) {
  header.bar { padding:.6rem .8rem; }
  main { padding:0 .5rem; margin:1rem auto; }
  .card { padding:.9rem 1rem; }
  dl { grid-template-columns:minmax(0,1fr); gap:.1rem; }
  dd { margin-bottom:.4rem; }
  th, td { padding:.4rem .3rem; }
}
`;

const SCRIPT = `// Copy buttons: <button data-copy="element-id">.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-copy]');
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = source.value ?? source.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    source.select();
    document.execCommand('copy');
  }
  const label = button.textContent;
  button.textContent = 'Copied';
  const status = document.getElementById('copy-status');
  if (status) status.textContent = 'Copied to the clipboard.';
  setTimeout(() => { button.textContent = label; }, 1500);
});
`;

export function assetRoutes(): Hono {
  const app = new Hono();
  const serve = (type: string, body: string) => () =>
    new Response(body, {
      headers: { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600' },
    });
  app.get('/static/tokenbroker.css', serve('text/css; charset=utf-8', STYLE));
  app.get('/static/tokenbroker.js', serve('text/javascript; charset=utf-8', SCRIPT));
  // Browsers ask for it on every page; an empty answer beats a 404 in the console.
  app.get('/favicon.ico', () => new Response(null, { status: 204 }));
  return app;
}
