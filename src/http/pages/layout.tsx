import { createContext, useContext, type Child } from 'hono/jsx';

/**
 * A word every page's header shows after the brand: "demo" when `npm start`
 * runs the demo, so nobody mistakes its test IdP for their company's login.
 * Set per app (AppOptions.pageLabel), read while a page renders.
 */
const PageLabel = createContext<string | undefined>(undefined);

interface LayoutProps {
  title: string;
  /** The signed-in person, for the header's logout form. */
  who?: { email: string; csrf: string } | undefined;
  children?: Child;
}

export function Layout({ title, who, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{title} · tokenbroker</title>
        <link rel="stylesheet" href="/static/tokenbroker.css" />
        <script src="/static/tokenbroker.js" defer></script>
      </head>
      <body>
        <header class="bar">
          <BrandWithLabel />
          {who && (
            <form class="who" method="post" action="/saml/logout">
              <span>{who.email}</span>
              <input type="hidden" name="csrf" value={who.csrf} />
              <button type="submit" class="secondary">
                Log out
              </button>
            </form>
          )}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}

function BrandWithLabel() {
  const label = useContext(PageLabel);
  return <span class="brand">tokenbroker{label && <span class="label">{label}</span>}</span>;
}

/** A page with one message: errors, "no access", "logged out". */
export function MessagePage(props: {
  title: string;
  message: string;
  action?: { href: string; label: string } | undefined;
  note?: string | undefined;
}) {
  return (
    <Layout title={props.title}>
      <section class="card center">
        <h1>{props.title}</h1>
        <p>{props.message}</p>
        {props.note && <p class="muted">{props.note}</p>}
        {props.action && (
          <p>
            <a href={props.action.href}>{props.action.label}</a>
          </p>
        )}
      </section>
    </Layout>
  );
}

/** The page's HTML, its header labelled with `label` (see PageLabel) when given. */
export const renderPage = (el: unknown, label?: string): string =>
  String(<PageLabel.Provider value={label}>{el as Child}</PageLabel.Provider>);
