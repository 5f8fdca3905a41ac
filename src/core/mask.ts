/**
 * The one place credentials are masked, for every output: the terminal, stderr, the exports and the results JSON.
 * A URL's password (`redis://:PASSWORD@host`, `http://user:PASSWORD@host`, `postgres://user:PASSWORD@host/db`)
 * and the values of password-like query parameters (`?password=`, `&token=`…) become `***`; a user name stays, since
 * it is not a secret and tells the reader which account was used.
 */
export const MASK = "***";

// scheme://user:password@ (or scheme:user:password@, as gRPC quotes a target) — the password runs to the last @ before the host (a raw @ inside it is the user's typo,
// which URL parsers read the same way); it never crosses a /, ?, # or whitespace, so lists of URLs stay apart.
const USERINFO = /([a-z][a-z0-9+.-]*:(?:\/\/)?)([^\s/?#@:]*):([^\s/?#]*)@/gi;
const SECRET_PARAM = /([?&;](?:password|passwd|pwd|pass|secret|token|access_token|auth|authtoken|api_key|apikey)=)[^&#;\s]*/gi;

/** `text` with every credential of every URL in it masked (see above). Idempotent. */
export function maskSecrets(text: string): string {
  if (!text.includes("@") && !text.includes("=")) return text;
  return text.replace(USERINFO, (_, scheme: string, user: string) => `${scheme}${user}:${MASK}@`).replace(SECRET_PARAM, `$1${MASK}`);
}

/** A copy of a plain JSON value (a report) with `maskSecrets` applied to every string in it, keys included. */
export function maskDeep<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return maskSecrets(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [maskSecrets(k), walk(x)]));
    return v;
  };
  return walk(value) as T;
}
