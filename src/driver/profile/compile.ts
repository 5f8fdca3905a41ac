import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import type { RegisterRequest, RegisterResponse } from "../../core/types.js";
import { parseAddress } from "../../core/ipv4.js";
import { HttpOutcomeError } from "../httpClient.js";
import { type Locator, type Placeholder, type ProfileSpec } from "./spec.js";

// yaml is loaded by the first document parsed, not by every process and thread that imports this file (start-up time).
const require = createRequire(import.meta.url);
const yaml = () => require("yaml") as typeof Yaml;

/**
 * A template compiled once: literal parts and the getters between them. Rendering never parses. `constant`: the text
 * of a template without placeholders (the client builds it into its request head once).
 */
export type Render = ((request: RegisterRequest) => string) & { readonly constant?: string };

/** What the answer reader found, for `profile check` to show beside the response. */
export interface Extracted {
  readonly id: string | undefined;
  readonly address: string | undefined;
  readonly configAddress: string | undefined;
}

/** A profile ready for a run: the request's parts rendered from a registration, and the answer read back. */
export interface CompiledProfile {
  readonly spec: ProfileSpec;
  readonly method: string;
  readonly contentType: string;
  /** The request target: the base URL's path and the profile's, placeholders percent-encoded. */
  readonly path: Render;
  /** The profile's headers as `name: value\r\n` lines (the raw client writes them as they are). */
  readonly headerLines: Render;
  /** The profile's headers as an object (undici); content-type included when there is a body. */
  headers(request: RegisterRequest): Record<string, string>;
  /** Undefined: the request has no body. */
  readonly body: Render | undefined;
  /** The answer needs its headers (an address or an ID in a header). */
  readonly needsHead: boolean;
  /**
   * Reads an answer: a registration acknowledged (`machineId` the one the answer names, or the request's when the
   * profile reads none), or an HttpOutcomeError with the kind the report counts. `head` is the response head's
   * text, needed only when `needsHead`.
   */
  read(status: number, body: string, head: string | undefined, requestMachineId: string, requireConfig: boolean): RegisterResponse;
  /** The same reading, keeping what was found on the way (`profile check`). */
  explain(
    status: number,
    body: string,
    head: string | undefined,
    requestMachineId: string,
    requireConfig: boolean,
  ): { response?: RegisterResponse; error?: HttpOutcomeError; extracted: Extracted };
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
type Encode = (value: string) => string;

/** Whether a JSON string must escape a character of `v`: '"', '\\', a control character or a surrogate (JSON.stringify escapes lone ones). */
function jsonSpecial(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

// A loop over the characters rather than a regular expression: ten values per request, each a few characters.
const asJson: Encode = (v) => (jsonSpecial(v) ? JSON.stringify(v).slice(1, -1) : v);
const asPath: Encode = encodeURIComponent;
const asForm: Encode = (v) => encodeURIComponent(v).replace(/%20/g, "+");

/** Whether `v` holds a CR or an LF (a header value must not). */
function hasLineBreak(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) return true;
  }
  return false;
}

const asHeader: Encode = (v) => (hasLineBreak(v) ? v.replace(/[\r\n]+/g, " ") : v);

/**
 * `encode` remembering its last value: a placeholder that is the same for every request of a run (the project, its
 * key, a single system) is encoded once, not per request.
 */
function lastOne(encode: Encode): Encode {
  let lastIn: string | undefined;
  let lastOut = "";
  return (v) => {
    if (v !== lastIn) {
      lastOut = encode(v);
      lastIn = v;
    }
    return lastOut;
  };
}

/** The getter of each placeholder; `run` is the run's prefix, `index` the device's number in its machineID. */
function getter(name: Placeholder, run: string): (r: RegisterRequest) => string {
  switch (name) {
    case "run":
      return () => run;
    case "index":
      return (r) => {
        const suffix = r.machineId.slice(r.machineId.lastIndexOf("-") + 1);
        return suffix.startsWith("m") ? suffix.slice(1) : suffix;
      };
    // One named read per field (a keyed read by a name that differs per getter would be megamorphic).
    case "projectId":
      return (r) => r.projectId;
    case "key":
      return (r) => r.key;
    case "systemUuid":
      return (r) => r.systemUuid;
    case "systemName":
      return (r) => r.systemName;
    case "machineId":
      return (r) => r.machineId;
    case "peerId":
      return (r) => r.peerId;
    case "hostname":
      return (r) => r.hostname;
    case "arch":
      return (r) => r.arch;
    case "distro":
      return (r) => r.distro;
    case "kernelVersion":
      return (r) => r.kernelVersion;
  }
}

const LATIN1 = /^[\x00-\xff]*$/;

/**
 * `text` as a one-byte string when each of its characters fits in one. A profile's strings are slices of the YAML
 * file's text, which is held two bytes per character as soon as the file has one character past U+00FF (a comment's
 * "‖" will do): every request built from such a slice would be two-byte too, copied wider and encoded slower.
 */
function oneByte(text: string): string {
  return LATIN1.test(text) ? Buffer.from(text, "latin1").toString("latin1") : text;
}

/** A Render of a text without placeholders, the text kept as its `constant`. */
const constantRender = (text: string): Render => Object.assign(() => text, { constant: text });

/** Compiles `{{name}}` templates: literals kept (or encoded by `literal`), placeholders encoded by `encode`. */
export function compileTemplate(template: string, encode: Encode, run: string, literal: Encode = (s) => s): Render {
  const literals: string[] = [];
  const getters: ((r: RegisterRequest) => string)[] = [];
  let last = 0;
  const encoders: Encode[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    literals.push(oneByte(literal(template.slice(last, m.index))));
    getters.push(getter(m[1] as Placeholder, run));
    encoders.push(lastOne(encode));
    last = m.index! + m[0].length;
  }
  const tail = oneByte(literal(template.slice(last)));
  if (getters.length === 0) return constantRender(tail);
  const n = getters.length;
  return (r) => {
    let out = "";
    for (let k = 0; k < n; k++) out += literals[k]! + encoders[k]!(getters[k]!(r));
    return out + tail;
  };
}

/** RFC 6901: the tokens of a pointer, `~1` → `/` and `~0` → `~`. */
function tokens(pointer: string): string[] {
  return pointer === ""
    ? []
    : pointer
        .slice(1)
        .split("/")
        .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** A pointer's token compiled once: an object member's name, and the array index it also names, if any. */
interface Step {
  readonly key: string;
  readonly index: number | undefined;
}

function steps(pointer: string): Step[] {
  return tokens(pointer).map((key) => ({ key, index: /^(0|[1-9]\d*)$/.test(key) ? Number(key) : undefined }));
}

/** The value at a compiled pointer: own members of objects only (never the prototype's), array elements by index. */
function lookup(doc: unknown, path: readonly Step[]): unknown {
  let at: unknown = doc;
  for (const { key, index } of path) {
    if (Array.isArray(at)) {
      if (index === undefined) return undefined;
      at = at[index];
    } else if (typeof at === "object" && at !== null && Object.prototype.hasOwnProperty.call(at, key)) {
      at = (at as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return at;
}

/** One header's value from a response head's text, or undefined. */
function headerOf(head: string | undefined, name: string): string | undefined {
  if (!head) return undefined;
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** A locator compiled: the value at a pointer of the parsed body, or a header. */
function compileLocator(loc: Locator): (doc: unknown, head: string | undefined) => unknown {
  if ("header" in loc) return (_doc, head) => headerOf(head, loc.header);
  const path = steps(loc.pointer);
  return (doc) => lookup(doc, path);
}

/** The address a plain config carries at `pointer`: `10.0.0.2` or `10.0.0.2/24`. */
function plainConfigAddress(config: string, path: readonly Step[]): string | undefined {
  let doc: unknown;
  try {
    doc = yaml().parse(config, { prettyErrors: false, maxAliasCount: 0 });
  } catch {
    return undefined;
  }
  const v = lookup(doc, path);
  if (typeof v !== "string") return undefined;
  const slash = v.indexOf("/");
  return slash < 0 ? v : v.slice(0, slash);
}

/** A success status whose body is not a registration. */
function malformed(status: number, text: string, why: string): HttpOutcomeError {
  return new HttpOutcomeError("malformed-response", `${status} with a body that is not a registration (${why}): ${text.slice(0, 200)}`);
}

/**
 * Compiles a profile for one run: `baseUrl`'s path is put before the profile's, `run` is the run's prefix. Every
 * template is split here, once; rendering a request only concatenates.
 */
export function compileProfile(spec: ProfileSpec, baseUrl: string, run: string): CompiledProfile {
  const base = new URL(baseUrl).pathname.replace(/\/+$/, "");
  const { request, answer, errors, config } = spec;
  const path = compileTemplate(base + request.path, asPath, run);
  const hasBody = request.encoding !== "none";
  const headerNames = Object.keys(request.headers);
  const headerRenders = headerNames.map((n) => compileTemplate(request.headers[n]!, asHeader, run));
  const lineRenders = headerNames.map((n) => compileTemplate(`${n}: ${request.headers[n]!}\r\n`, asHeader, run));
  const contentLine = hasBody ? oneByte(`content-type: ${request.contentType}\r\n`) : "";
  const fixedLines = lineRenders.every((render) => render.constant !== undefined)
    ? contentLine + lineRenders.map((render) => render.constant).join("")
    : undefined;
  const headerLines: Render =
    fixedLines !== undefined
      ? constantRender(fixedLines)
      : (r) => {
          let out = contentLine;
          for (const render of lineRenders) out += render(r);
          return out;
        };
  let body: Render | undefined;
  if (request.encoding === "json") {
    body = compileTemplate(typeof request.body === "string" ? request.body : JSON.stringify(request.body), asJson, run);
  } else if (request.encoding === "form") {
    if (typeof request.body === "string") {
      body = compileTemplate(request.body, asForm, run);
    } else {
      // A mapping: each field's name and the literal text of its value form-encoded like the values put into it.
      const fields = Object.entries(request.body!).map(([k, v], i) => ({
        lead: `${i > 0 ? "&" : ""}${asForm(k)}=`,
        render: compileTemplate(String(v), asForm, run, asForm),
      }));
      body = (r) => {
        let out = "";
        for (const f of fields) out += f.lead + f.render(r);
        return out;
      };
    }
  }

  const success = new Set(answer.success);
  const addressAt = compileLocator(answer.address);
  const machineAt = answer.machineId ? compileLocator(answer.machineId) : undefined;
  const idAt = answer.id ? compileLocator(answer.id) : undefined;
  const configAt = config.check === "none" ? undefined : compileLocator({ pointer: config.at });
  const configAddress = config.check === "plain" ? steps(config.address) : undefined;
  const codeAt = errors.code !== undefined ? steps(errors.code) : undefined;
  // Maps, not the spec's objects: a code such as "constructor" finds nothing rather than Object's prototype.
  const codeKinds = new Map(Object.entries(errors.codes));
  const statusKinds = new Map(Object.entries(errors.status));
  const needsHead = [answer.address, answer.machineId, answer.id].some((l) => l !== undefined && "header" in l);

  /**
   * Reads an answer: the registration it acknowledges, or the error it is counted under (returned, not thrown: the
   * run's hot path). `found`, when given, keeps what was found on the way (`profile check`); the run passes none.
   */
  const readAnswer = (
    status: number,
    text: string,
    head: string | undefined,
    requestMachineId: string,
    requireConfig: boolean,
    found?: { id: string | undefined; address: string | undefined; configAddress: string | undefined },
  ): RegisterResponse | HttpOutcomeError => {
    let doc: unknown;
    try {
      doc = text.length === 0 ? undefined : JSON.parse(text);
    } catch {
      doc = undefined;
    }
    if (!success.has(status)) {
      const code = codeAt ? lookup(doc, codeAt) : undefined;
      // The code if the profile maps it, else the status if the profile maps it, else http-<status>: a code the
      // profile does not list is never counted as it is, even when it looks like one of regbench's kinds.
      let kind = typeof code === "string" || typeof code === "number" ? codeKinds.get(String(code)) : undefined;
      kind ??= statusKinds.get(String(status)) ?? `http-${status}`;
      return new HttpOutcomeError(kind, `${status}: ${text.slice(0, 200)}`);
    }
    const address = addressAt(doc, head);
    if (found) {
      if (typeof address === "string") found.address = address;
      const id = idAt?.(doc, head);
      if (typeof id === "string" || typeof id === "number") found.id = String(id);
    }
    if (typeof address !== "string" || parseAddress(address) === undefined) return malformed(status, text, "no dotted-quad address");
    let machineId = requestMachineId;
    if (machineAt) {
      const m = machineAt(doc, head);
      if (typeof m !== "string") return malformed(status, text, "no machineID");
      machineId = m;
    }
    if (config.check === "none") return { machineId, ipv4: address, config: "" };
    const cfg = configAt!(doc, head);
    if (config.check === "sealed") {
      if ((cfg !== undefined && typeof cfg !== "string") || (requireConfig && typeof cfg !== "string")) return malformed(status, text, "no sealed config");
      return { machineId, ipv4: address, config: typeof cfg === "string" ? cfg : "" };
    }
    if (typeof cfg !== "string") return malformed(status, text, "no config");
    const inConfig = plainConfigAddress(cfg, configAddress!);
    if (found) found.configAddress = inConfig;
    return { machineId, ipv4: address, config: "", configAgrees: inConfig === address };
  };

  const explain: CompiledProfile["explain"] = (status, text, head, requestMachineId, requireConfig) => {
    const extracted = { id: undefined, address: undefined, configAddress: undefined };
    const r = readAnswer(status, text, head, requestMachineId, requireConfig, extracted);
    return r instanceof HttpOutcomeError ? { error: r, extracted } : { response: r, extracted };
  };

  return {
    spec,
    method: oneByte(request.method),
    contentType: request.contentType,
    path,
    headerLines,
    headers: (r) => {
      const out: Record<string, string> = hasBody ? { "content-type": request.contentType } : {};
      headerNames.forEach((n, k) => (out[n] = headerRenders[k]!(r)));
      return out;
    },
    body,
    needsHead,
    read(status, text, head, requestMachineId, requireConfig) {
      const r = readAnswer(status, text, head, requestMachineId, requireConfig);
      if (r instanceof HttpOutcomeError) throw r;
      return r;
    },
    explain,
  };
}
