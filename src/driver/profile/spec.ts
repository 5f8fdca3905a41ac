import { createRequire } from "node:module";
import type { AuditQueries } from "../../audit/auditDb.js";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Document, LineCounter } from "yaml";
import type * as Yaml from "yaml";

// yaml is loaded by the first document parsed, not by every process and thread that imports this file (start-up time).
const require = createRequire(import.meta.url);
const yaml = () => require("yaml") as typeof Yaml;

/** The shipped profiles, resolvable by bare name (`--profile regbench`). */
export const PROFILE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "profiles");

/** The placeholders a template may name: the fields of a registration, the run's prefix and the device's number. */
export const PLACEHOLDERS = Object.freeze([
  "projectId",
  "key",
  "systemUuid",
  "systemName",
  "machineId",
  "peerId",
  "hostname",
  "arch",
  "distro",
  "kernelVersion",
  "run",
  "index",
] as const);
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Where an answer carries a value: a JSON pointer into its body (RFC 6901), or a response header. */
export type Locator = { readonly pointer: string } | { readonly header: string };

/** How the config in a successful answer is checked against the address. */
export type ConfigCheck =
  | { readonly check: "none" }
  /** regbench's own: base64(nonce ‖ tag ‖ AES-256-GCM) at `at`, opened with `--server-key`, `interfaceAddr` inside. */
  | { readonly check: "sealed"; readonly at: string }
  /** A YAML (or JSON) document in clear at `at`; the address inside it at the pointer `address` (`10.0.0.2` or `10.0.0.2/24`). */
  | { readonly check: "plain"; readonly at: string; readonly address: string };

/**
 * A request profile, validated and plain (it travels to generator threads as data): how a registration is sent to
 * a service and how its answer is read. Compiled once per thread by `compileProfile`.
 */
export interface ProfileSpec {
  /** `regbench` for the built-in profile, else the file it was read from. */
  readonly name: string;
  readonly request: {
    readonly method: string;
    /** Appended to the target's base path; placeholders are percent-encoded. */
    readonly path: string;
    /** Header templates, names in lower case. */
    readonly headers: Readonly<Record<string, string>>;
    readonly contentType: string;
    /** `json`: the body is JSON, placeholders JSON-escaped; `form`: application/x-www-form-urlencoded; `none`: no body. */
    readonly encoding: "json" | "form" | "none";
    /** A body template (text), or fields (a mapping rendered as JSON or as form fields). */
    readonly body: string | Readonly<Record<string, unknown>> | undefined;
  };
  readonly answer: {
    /** Statuses that acknowledge a registration. */
    readonly success: readonly number[];
    readonly address: Locator;
    /** The answer echoes the machineID it registered; another one than the request's counts as lost. */
    readonly machineId: Locator | undefined;
    /** The service's own ID for the device: shown by `profile check`, never matched (the audit matches by machineID). */
    readonly id: Locator | undefined;
  };
  readonly errors: {
    /** A JSON pointer to the service's own error code in a failed answer. */
    readonly code: string | undefined;
    /** The service's codes renamed to the kinds the report counts; a code not listed here counts by its status. */
    readonly codes: Readonly<Record<string, string>>;
    /** Kinds by status, for answers without a listed code. Anything unmapped is `http-<status>`. */
    readonly status: Readonly<Record<string, string>>;
  };
  readonly config: ConfigCheck;
  readonly audit: AuditQueries | undefined;
}

/** A profile that cannot be used, with where and why; the CLI turns it into exit 2 naming `--profile`. */
export class ProfileError extends Error {}

/** An error kind as the report counts it. */
export const KIND = /^[a-z0-9][a-z0-9-]{0,63}$/;
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const METHODS = new Set(["POST", "PUT", "PATCH", "GET", "DELETE"]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "content-type"]);
const TOP_KEYS = new Set(["request", "answer", "errors", "config", "audit"]);

/** The names of the shipped profiles, for messages. */
export function shippedProfiles(): string[] {
  try {
    return readdirSync(PROFILE_DIR)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => f.slice(0, -".yaml".length))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Resolves `--profile` and reads it; throws ProfileError. A reference that looks like a path — a slash, or an
 * extension (`./regbench`, `my-service.yaml`) — is that file. A bare name (`regbench`) is the shipped profile of
 * that name first, so a file of the same name in the current folder never replaces it; only a bare name that no
 * shipped profile has is read as a file (one named without an extension).
 */
export function loadProfile(ref: string): ProfileSpec {
  const looksLikePath = /[/\\]/.test(ref) || extname(ref) !== "";
  const shipped = looksLikePath ? undefined : join(PROFILE_DIR, `${ref}.yaml`);
  const candidates = shipped ? [shipped, resolve(ref)] : [resolve(ref)];
  // A file, not a folder that happens to share the name (a checkout called regbench, say).
  const path = candidates.find((p) => statSync(p, { throwIfNoEntry: false })?.isFile());
  if (!path) {
    const bare = basename(ref).replace(/\.(ya?ml|json)$/, "");
    const hint = looksLikePath && shippedProfiles().includes(bare) ? ` (the shipped profile is named without a path or extension: ${bare})` : "";
    throw new ProfileError(
      shipped
        ? `no shipped profile named ${JSON.stringify(ref)} (shipped: ${shippedProfiles().join(", ") || "none"}) and no file ${resolve(ref)}`
        : `no profile file at ${resolve(ref)}${hint}`,
    );
  }
  return readProfile(path, path === shipped ? ref : path);
}

function readProfile(path: string, source: string): ProfileSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ProfileError(`${path} cannot be read: ${(error as Error).message}`);
  }
  return parseProfile(text, source);
}

let builtin: ProfileSpec | undefined;
/** regbench's own API as a profile (`profiles/regbench.yaml`, never a file of the current folder), read once. */
export function regbenchProfile(): ProfileSpec {
  return (builtin ??= readProfile(join(PROFILE_DIR, "regbench.yaml"), "regbench"));
}

/**
 * A key of the file as a message may name it: a short identifier (a typo such as `answr`, a header name, a status).
 * Anything else is `<key>`, the line named: a file that is not a profile (`--profile /etc/shadow`) must never have its
 * content shown, and its "keys" may be whole lines of it.
 */
const SHOWN_KEY = /^(?:[A-Za-z_][A-Za-z0-9_-]{0,31}|\d{1,3})$/;
const shownKey = (k: string) => (SHOWN_KEY.test(k) ? k : "<key>");

/** What a YAML error code means, said without the text it was found in (the library's messages may quote it). */
const YAML_PROBLEMS: Readonly<Record<string, string>> = {
  BAD_INDENT: "wrong indentation",
  TAB_AS_INDENT: "a tab used as indentation",
  DUPLICATE_KEY: "a key given twice",
  MISSING_CHAR: "a missing character (a comma, a colon, a quote or a closing bracket)",
  UNEXPECTED_TOKEN: "an unexpected character",
  MULTILINE_IMPLICIT_KEY: "a key that runs over more than one line (a missing colon?)",
  BLOCK_AS_IMPLICIT_KEY: "a key that runs over more than one line (a missing colon?)",
  BAD_DQ_ESCAPE: "an invalid escape sequence in a double-quoted string",
  BAD_SCALAR_START: "a value that cannot start with the character it starts with (quote it)",
  MULTIPLE_DOCS: "more than one document",
  TAG_RESOLVE_FAILED: "an unknown tag (!…)",
  BAD_ALIAS: "an alias to an anchor that is not defined",
};

/**
 * Parses a profile's text (YAML, or JSON, which is YAML); `source` names it in messages. Throws ProfileError.
 * No message quotes the file: a line number and what is wrong, keys only as `shownKey` allows, never a value.
 */
export function parseProfile(text: string, source: string): ProfileSpec {
  const lines = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const problem = YAML_PROBLEMS[e.code] ?? e.code.toLowerCase().replace(/_/g, " ");
    const at = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    throw new ProfileError(`${source}:${at.line}:${at.col} is not valid YAML or JSON: ${problem}`);
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 0 });
  } catch {
    // An alias (*name): a profile never needs one, and the library's message quotes the document.
    throw new ProfileError(`${source} is not a profile: it uses YAML aliases (*name), which a profile may not`);
  }
  const at = (path: string, line?: number) => `${source}${line ? `:${line}` : ""}:${path ? ` ${path}` : ""}`;
  const lineOf = (path: string[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? lines.linePos(node.range[0]).line : undefined;
  };
  const fail = (path: string[], problem: string): never => {
    throw new ProfileError(`${at(path.map(shownKey).join("."), lineOf(path))} ${problem}`);
  };
  if (!isObject(root)) throw new ProfileError(`${source} is not a profile: a profile is a mapping of ${[...TOP_KEYS].join(", ")}`);
  // Until its top-level keys are a profile's, the file may be anything: a key is named only in a file that has a
  // profile key besides it (a typo in a profile), else the line alone.
  const looksLikeProfile = Object.keys(root).some((k) => TOP_KEYS.has(k));
  for (const k of Object.keys(root)) {
    if (TOP_KEYS.has(k)) continue;
    if (looksLikeProfile && SHOWN_KEY.test(k)) fail([k], `is not a profile key (known: ${[...TOP_KEYS].join(", ")})`);
    const line = lineOfKey(doc, k, lines);
    throw new ProfileError(
      `${source} is not a profile: line ${line ?? "?"} is not a \`key: value\` profile entry (a profile's keys are ${[...TOP_KEYS].join(", ")})`,
    );
  }
  checkPlaceholders(doc, lines, source);

  const req = section(root, "request", fail);
  known(req, ["method", "path", "headers", "contentType", "body"], ["request"], fail);
  const method = req.method === undefined ? "POST" : String(req.method).toUpperCase();
  if (!METHODS.has(method)) fail(["request", "method"], `must be one of ${[...METHODS].join(", ")}`);
  if (typeof req.path !== "string" || !req.path.startsWith("/")) fail(["request", "path"], 'must be a path starting with "/", e.g. /api/v2/devices');
  const path = req.path as string;
  if (/[\s#]/.test(path.replace(PLACEHOLDER, ""))) fail(["request", "path"], "must not contain spaces or a fragment (#)");
  const headers: Record<string, string> = {};
  if (req.headers !== undefined) {
    if (!isObject(req.headers)) fail(["request", "headers"], "must be a mapping of header names to templates");
    for (const [name, value] of Object.entries(req.headers as Record<string, unknown>)) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(name)) fail(["request", "headers", name], "is not a valid header name");
      if (RESERVED_HEADERS.has(lower)) fail(["request", "headers", name], "is set by regbench (use request.contentType for the content type)");
      if (typeof value !== "string" && typeof value !== "number") fail(["request", "headers", name], "must be a text template");
      if (/[\r\n]/.test(String(value))) fail(["request", "headers", name], "must be one line");
      headers[lower] = String(value);
    }
  }
  const contentType = req.contentType === undefined ? "application/json" : String(req.contentType);
  if (/[\r\n]/.test(contentType)) fail(["request", "contentType"], "must be one line");
  const encoding: ProfileSpec["request"]["encoding"] =
    req.body === undefined ? "none" : /^application\/x-www-form-urlencoded\b/i.test(contentType) ? "form" : /\bjson\b/i.test(contentType) ? "json" : "json";
  if (req.body !== undefined && typeof req.body !== "string" && !isObject(req.body))
    fail(["request", "body"], "must be a mapping of fields (rendered as JSON or form fields) or a text template");
  if (encoding === "form" && isObject(req.body))
    for (const [k, v] of Object.entries(req.body))
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") fail(["request", "body", k], "must be a plain value in a form body");
  if (!/json|x-www-form-urlencoded/i.test(contentType) && req.body !== undefined && typeof req.body !== "string")
    fail(["request", "contentType"], "must be a JSON or form type when the body is a mapping");

  const ans = section(root, "answer", fail);
  known(ans, ["success", "address", "machineId", "id"], ["answer"], fail);
  const success = ans.success === undefined ? [200] : Array.isArray(ans.success) ? ans.success : [ans.success];
  if (success.length === 0 || !success.every((s) => Number.isInteger(s) && (s as number) >= 100 && (s as number) <= 599))
    fail(["answer", "success"], "must be a list of HTTP statuses, e.g. [200, 201]");
  if (ans.address === undefined)
    fail(["answer", "address"], "is required: where the answer carries the device's IPv4 (a JSON pointer such as /device/address, or {header: NAME})");
  const address = locator(ans.address, ["answer", "address"], fail);
  const machineId = ans.machineId === undefined ? undefined : locator(ans.machineId, ["answer", "machineId"], fail);
  const id = ans.id === undefined ? undefined : locator(ans.id, ["answer", "id"], fail);

  const err = root.errors === undefined ? {} : section(root, "errors", fail);
  known(err, ["code", "codes", "status"], ["errors"], fail);
  const code = err.code === undefined ? undefined : pointer(err.code, ["errors", "code"], fail);
  const codes: Record<string, string> = {};
  if (err.codes !== undefined) {
    if (!isObject(err.codes)) fail(["errors", "codes"], "must map the service's codes to error kinds, e.g. {device_exists: conflict}");
    for (const [k, v] of Object.entries(err.codes as Record<string, unknown>)) codes[k] = kindOf(v, ["errors", "codes", k], fail);
  }
  const status: Record<string, string> = {};
  if (err.status !== undefined) {
    if (!isObject(err.status)) fail(["errors", "status"], "must map statuses to error kinds, e.g. {409: conflict, 503: unavailable}");
    for (const [k, v] of Object.entries(err.status as Record<string, unknown>)) {
      if (!/^[1-5]\d\d$/.test(k)) fail(["errors", "status", k], "is not an HTTP status");
      status[k] = kindOf(v, ["errors", "status", k], fail);
    }
  }

  const cfg = root.config === undefined ? { check: "none" } : section(root, "config", fail);
  known(cfg, ["check", "at", "address"], ["config"], fail);
  let config: ConfigCheck;
  switch (cfg.check ?? "none") {
    case "none":
      config = { check: "none" };
      break;
    case "sealed":
      config = { check: "sealed", at: pointer(cfg.at ?? "/config", ["config", "at"], fail) };
      break;
    case "plain":
      if (cfg.at === undefined) fail(["config", "at"], "is required with check: plain (the JSON pointer of the config in the answer)");
      if (cfg.address === undefined) fail(["config", "address"], "is required with check: plain (the JSON pointer of the address inside the config)");
      config = { check: "plain", at: pointer(cfg.at, ["config", "at"], fail), address: pointer(cfg.address, ["config", "address"], fail) };
      break;
    default:
      return fail(["config", "check"], "must be sealed, plain or none");
  }

  let audit: AuditQueries | undefined;
  if (root.audit !== undefined) {
    const a = section(root, "audit", fail);
    known(a, ["systems", "machines", "timeout"], ["audit"], fail);
    for (const k of ["systems", "machines"] as const)
      if (typeof a[k] !== "string" || !/:run\b/.test(a[k] as string))
        fail(["audit", k], "must be a query with the parameter :run (the run's prefix), e.g. WHERE system_uuid LIKE CONCAT(:run, '-%')");
    const timeoutMs = a.timeout === undefined ? 30_000 : durationMs(a.timeout);
    if (timeoutMs === undefined) fail(["audit", "timeout"], "must be a duration such as 30s or 500ms");
    audit = { systems: a.systems as string, machines: a.machines as string, timeoutMs: timeoutMs! };
  }

  return deepFreeze({
    name: source,
    request: { method, path, headers, contentType, encoding, body: req.body as ProfileSpec["request"]["body"] },
    answer: { success: success as number[], address, machineId, id },
    errors: { code, codes, status },
    config,
    audit,
  });
}

/** Every `{{name}}` in the document names a placeholder; else the line is named. */
function checkPlaceholders(doc: Document, lines: LineCounter, source: string): void {
  const { isMap, isScalar, isSeq, visit } = yaml();
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== "string" || !node.value.includes("{{")) return;
      for (const m of node.value.matchAll(PLACEHOLDER)) {
        if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
          const line = node.range ? lines.linePos(node.range[0]).line : "?";
          const name = SHOWN_KEY.test(m[1]!) ? `{{${m[1]}}}` : "";
          throw new ProfileError(`${source}:${line}: unknown placeholder ${name}${name ? " " : ""}(known: ${PLACEHOLDERS.join(", ")})`);
        }
      }
      const rest = node.value.replace(PLACEHOLDER, "");
      if (rest.includes("{{") || rest.includes("}}")) {
        const line = node.range ? lines.linePos(node.range[0]).line : "?";
        throw new ProfileError(`${source}:${line}: an unclosed or malformed placeholder (a {{ without its }}, or the reverse)`);
      }
    },
  });
  // Keys are not templates.
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && typeof pair.key.value === "string" && pair.key.value.includes("{{") && !isMap(pair.value) && !isSeq(pair.value)) {
        const line = pair.key.range ? lines.linePos(pair.key.range[0]).line : "?";
        throw new ProfileError(`${source}:${line}: a key cannot hold a placeholder: only values are templates`);
      }
    },
  });
}

type Fail = (path: string[], problem: string) => never;

/** The line of the top-level key `key`. */
function lineOfKey(doc: Document, key: string, lines: LineCounter): number | undefined {
  const { isMap, isScalar } = yaml();
  if (!isMap(doc.contents)) return undefined;
  const pair = doc.contents.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
  return range ? lines.linePos(range[0]).line : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function section(root: Record<string, unknown>, key: string, fail: Fail): Record<string, unknown> {
  const v = root[key];
  if (!isObject(v)) return fail([key], "must be a mapping");
  return v;
}

function known(obj: Record<string, unknown>, keys: string[], path: string[], fail: Fail): void {
  for (const k of Object.keys(obj)) if (!keys.includes(k)) fail([...path, k], `is not a key of ${path.join(".")} (known: ${keys.join(", ")})`);
}

function pointer(v: unknown, path: string[], fail: Fail): string {
  if (typeof v !== "string" || (v !== "" && !v.startsWith("/")) || /~[^01]|~$/.test(v))
    return fail(path, "must be a JSON pointer (RFC 6901) such as /device/address");
  return v;
}

function locator(v: unknown, path: string[], fail: Fail): Locator {
  if (isObject(v) && Object.keys(v).length === 1 && typeof v.header === "string" && HEADER_NAME.test(v.header)) return { header: v.header.toLowerCase() };
  return { pointer: pointer(v, path, fail) };
}

function kindOf(v: unknown, path: string[], fail: Fail): string {
  if (typeof v !== "string" || !KIND.test(v)) return fail(path, "must be an error kind: lower case letters, digits and dashes");
  return v;
}

function durationMs(v: unknown): number | undefined {
  if (typeof v === "number" && v > 0) return v;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(v).trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] === "s" ? 1000 : m[2] === "m" ? 60_000 : 1);
  return n > 0 ? n : undefined;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
