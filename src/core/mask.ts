/**
 * The one place credentials are masked, for every output: the terminal, stderr, the exports and the results JSON.
 * A URL's password (`redis://:PASSWORD@host`, `http://user:PASSWORD@host`, `postgres://user:PASSWORD@host/db`)
 * and the values of password-like query parameters (`?password=`, `&token=`…) become `***`; a user name stays, since
 * it is not a secret and tells the reader which account was used.
 */
export const MASK = "***";

// scheme://user:password@ — the password runs to the last @ before the host (a raw @ inside it is the user's typo,
// which URL parsers read the same way); it never crosses a /, ?, # or whitespace, so lists of URLs stay apart, nor a
// quote, angle bracket or backslash (none may stand in a URL's userinfo, RFC 3986 §3.2.1), so a URL without
// credentials quoted in JSON or HTML never swallows the text after it. Without "//" nothing is taken for userinfo:
// "pause:instance:3s@1s" is a nemesis, not a password.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"'<>\\`]*):([^\s/?#"'<>\\`]*)@/gi;
const SECRET_PARAM = /([?&;](?:password|passwd|pwd|pass|secret|token|access_token|auth|authtoken|api_key|apikey)=)[^&#;\s]*/gi;

/** `text` with every credential of every URL in it masked (see above). Idempotent. */
export function maskSecrets(text: string): string {
  if (!text.includes("@") && !text.includes("=")) return text;
  return text.replace(USERINFO, (_, scheme: string, user: string) => `${scheme}${user}:${MASK}@`).replace(SECRET_PARAM, `$1${MASK}`);
}

/** A copy of a plain JSON value (a report) with `fn` applied to every string in it, keys included. */
export function mapStrings<T>(value: T, fn: (text: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return fn(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [fn(k), walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** A copy of a plain JSON value (a report) with `maskSecrets` applied to every string in it, keys included. */
export function maskDeep<T>(value: T): T {
  return mapStrings(value, maskSecrets);
}

// C0 and C1 controls but tab and newline, DEL, and the bidirectional overrides and isolates ("Trojan source").
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control character shown as `\xHH` (`\u{HHHH}` beyond Latin-1): a scenario name or a results
 * file holding `ESC ] … BEL` or `ESC [31m` cannot retitle, recolour or rewrite the terminal it is shown in.
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** A report as it may be shown: `escapeControl` on every string in it. */
export function visibleDeep<T>(value: T): T {
  return mapStrings(value, escapeControl);
}
