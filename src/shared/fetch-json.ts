/**
 * Fetches a small document (JSON from an OIDC issuer, SAML IdP metadata):
 * redirects
 * refused (a redirect could move key material to a host the operator never trusted),
 * the body capped, and a time limit.
 */
export class FetchProblem extends Error {
  override readonly name = 'FetchProblem';
  readonly lasting: boolean;

  constructor(
    message: string,
    options?: ErrorOptions & {
      /** Waiting will not help (a name that does not resolve, a refused connection, a certificate). */
      lasting?: boolean;
    },
  ) {
    super(message, options);
    this.lasting = options?.lasting ?? false;
  }
}

/**
 * Why a request got no answer, in words an operator can act on. fetch says
 * only "fetch failed"; the reason (a name that does not resolve, a refused
 * connection, a certificate) is in its cause's code.
 */
export function whyUnreachable(error: unknown, url: string): { why: string; lasting: boolean } {
  const e = error as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  const code = e?.cause?.code ?? '';
  const host = URL.canParse(url) ? new URL(url).hostname : url;
  const passing = (why: string) => ({ why, lasting: false });
  const lasting = (why: string) => ({ why, lasting: true });
  if (e?.name === 'TimeoutError') return passing('no answer within the time limit');
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME')
    return lasting(`its host name ${host} does not resolve (DNS): check the URL`);
  if (code === 'EAI_AGAIN')
    return passing(`its host name ${host} could not be resolved right now (DNS)`);
  if (code === 'ECONNREFUSED') return lasting(`${host} refused the connection`);
  if (code === 'ECONNRESET') return passing(`${host} closed the connection`);
  if (/CERT|SSL|TLS/.test(code)) return lasting(`its TLS certificate was refused (${code})`);
  return passing([e?.message, e?.cause?.message].filter(Boolean).join(': ') || String(error));
}

export interface FetchedJson {
  body: unknown;
  /** Seconds the response may be cached, from Cache-Control max-age, if given. */
  maxAge: number | undefined;
}

export async function fetchJson(
  fetchImpl: typeof fetch,
  url: string,
  options: { maxBytes: number; timeoutMs?: number },
): Promise<FetchedJson> {
  const { text, headers } = await fetchCapped(fetchImpl, url, {
    ...options,
    accept: 'application/json',
  });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FetchProblem(`${url} did not answer JSON`);
  }
  const m = /(?:^|,)\s*max-age=(\d+)/i.exec(headers.get('cache-control') ?? '');
  const noStore = /no-store|no-cache/i.test(headers.get('cache-control') ?? '');
  return { body, maxAge: noStore ? 0 : m ? Number(m[1]) : undefined };
}

/**
 * GETs a small text document the same way: redirects refused, a 2xx
 * required, the body read as a stream and refused once past `maxBytes`.
 * Throws FetchProblem with a message that names the URL.
 */
export async function fetchCapped(
  fetchImpl: typeof fetch,
  url: string,
  options: { maxBytes: number; timeoutMs?: number; accept: string },
): Promise<{ text: string; headers: Headers }> {
  let res: Response;
  try {
    res = await fetchImpl(url, {
      redirect: 'manual',
      headers: { Accept: options.accept },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch (e) {
    const { why, lasting } = whyUnreachable(e, url);
    throw new FetchProblem(`${url} could not be reached: ${why}`, { cause: e, lasting });
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new FetchProblem(`${url} answered with a redirect (${res.status}), which is refused`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new FetchProblem(`${url} answered ${res.status}`);
  }
  return { text: await readCapped(res, options.maxBytes, url), headers: res.headers };
}

/** Reads a response body as UTF-8 text, refusing it once past `maxBytes`. */
export async function readCapped(res: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new FetchProblem(`${url} answered ${declared} bytes, more than the ${maxBytes} allowed`);
  }
  if (!res.body) return '';
  const bytes = await readStreamCapped(res.body, maxBytes);
  if (!bytes) throw new FetchProblem(`${url} answered more than the ${maxBytes} bytes allowed`);
  return new TextDecoder().decode(bytes);
}

/**
 * Reads a byte stream whole, or cancels it and answers undefined once it is
 * past `maxBytes`: a sender cannot make us buffer more than we allow.
 */
export async function readStreamCapped(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  return all;
}
