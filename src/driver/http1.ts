/**
 * An HTTP/1.x response parser for regbench's hand-written client: bytes in, one complete answer out, framed by
 * RFC 9112 §6.3 in its order. Pure (no sockets), so that every rule is tested on bytes alone.
 *
 * 1. A 1xx answer other than 101 is interim: skipped, and the next head is read (RFC 9110 §15.2).
 * 2. 101 Switching Protocols: an error (`protocol-switch`): a registration never asks to switch.
 * 3. An answer to HEAD, and 204 and 304, end at the blank line after the head, whatever their headers say.
 * 4. Transfer-Encoding, a case-insensitive token list over every such field: chunked last → chunked; present but
 *    chunked not last → read until the connection closes (§6.3 item 4). It overrides Content-Length, and the
 *    connection is then closed after the answer (§6.1). In an HTTP/1.0 answer it is faulty framing: an error.
 * 5. Content-Length: every value (fields and comma lists) the same run of digits; several different values, a
 *    negative or a non-numeric one: an error (`malformed-response`), and the connection is not reused.
 * 6. Otherwise the body runs until the connection closes.
 *
 * `Connection` is a case-insensitive token list over every such field (RFC 9110 §7.6.1): `close` anywhere closes;
 * an HTTP/1.0 answer closes unless it says `keep-alive`. Bytes are compared as bytes: no string is made for the
 * common answer, whose head is only scanned once.
 */

/** A head larger than this is not a registration answer (undici's default maximum header size is 16 KiB; curl's 100 KiB). */
export const MAX_HEAD = 64 * 1024;
/** Nor is a body larger than this. */
export const MAX_BODY = 16 * 1024 * 1024;

/** One complete answer. */
export interface ParsedResponse {
  readonly status: number;
  readonly body: Buffer;
  /** The connection is not to be used again (Connection: close, HTTP/1.0, close-delimited or suspicious framing). */
  readonly close: boolean;
  /** The final answer's head (status line and fields, latin1), when the parser was asked to keep it. */
  readonly head?: string;
}

/** What a parse step found: an answer, an error (the connection is then useless), or a need for more bytes. */
export type ParseStep = { readonly done: ParsedResponse; readonly extra: number } | { readonly error: string; readonly kind: string } | undefined;

type Framing = { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" } | { kind: "none" };

interface Head {
  readonly status: number;
  readonly framing: Framing;
  readonly close: boolean;
  /** Where the body starts in the parser's buffer. */
  readonly bodyStart: number;
}

const CR = 13;
const LF = 10;
const HEADER_END = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");

/** Lower-case field names as bytes, compared case-insensitively to a header line's name. */
const CONTENT_LENGTH = Buffer.from("content-length");
const TRANSFER_ENCODING = Buffer.from("transfer-encoding");
const CONNECTION = Buffer.from("connection");
const CLOSE = Buffer.from("close");
const KEEP_ALIVE = Buffer.from("keep-alive");
const CHUNKED = Buffer.from("chunked");
const HTTP_1 = Buffer.from("HTTP/1.");

/** Whether buf[from, from + word.length) spells `word` (lower-case ASCII) in any case. */
function sameWord(buf: Buffer, from: number, to: number, word: Buffer): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((buf[from + i]! | 0x20) !== word[i]) return false;
  return true;
}

const isOws = (c: number) => c === 32 || c === 9;

/** Where the line from `from` ends: the index of its CRLF's CR, or -1 when buf[from, limit) holds no CRLF. */
function lineEnd(buf: Buffer, from: number, limit: number): number {
  for (let i = from; i + 1 < limit; i++) if (buf[i] === CR && buf[i + 1] === LF) return i;
  return -1;
}

/** One element of a comma-separated list, as readElement leaves it (one object, reused: nothing allocated per field). */
const element = { from: 0, to: 0, next: 0 };

/**
 * The element of the list in buf[at, w) that starts at `at` (RFC 9110 §5.6.1): [from, to) with optional whitespace
 * trimmed (empty when from === to: such elements are skipped), and where the next one starts (past w at the end).
 */
function readElement(buf: Buffer, at: number, w: number): typeof element {
  let comma = at;
  while (comma < w && buf[comma] !== 44) comma++;
  let a = at;
  let b = comma;
  while (a < b && isOws(buf[a]!)) a++;
  while (b > a && isOws(buf[b - 1]!)) b--;
  element.from = a;
  element.to = b;
  element.next = comma + 1;
  return element;
}

/**
 * The fields a head's framing depends on, gathered line by line. Each list field is walked element by element
 * (RFC 9110 §5.6.1: optional whitespace trimmed, empty elements skipped) in plain loops: no string and no closure per
 * answer.
 */
class FramingFields {
  length = -1;
  lengthError: string | undefined = undefined;
  te = false;
  chunkedLast = false;
  close = false;
  keepAlive = false;

  /** One field line: name in buf[from, colon), value in buf[v, w) (whitespace trimmed). */
  field(buf: Buffer, from: number, colon: number, v: number, w: number): void {
    const nameLength = colon - from;
    if (nameLength === CONTENT_LENGTH.length && sameWord(buf, from, colon, CONTENT_LENGTH)) this.contentLength(buf, v, w);
    else if (nameLength === TRANSFER_ENCODING.length && sameWord(buf, from, colon, TRANSFER_ENCODING)) this.transferEncoding(buf, v, w);
    else if (nameLength === CONNECTION.length && sameWord(buf, from, colon, CONNECTION)) this.connection(buf, v, w);
  }

  private contentLength(buf: Buffer, v: number, w: number): void {
    // A field whose value is empty has no length either.
    if (v === w) this.lengthError = "an empty Content-Length";
    for (let at = v; at <= w && this.lengthError === undefined;) {
      const { from: a, to: b, next } = readElement(buf, at, w);
      at = next;
      if (a === b) continue;
      let n = 0;
      for (let i = a; i < b; i++) {
        const d = buf[i]! - 48;
        if (d < 0 || d > 9 || n > MAX_BODY) {
          this.lengthError = `a Content-Length that is not a number of bytes: ${JSON.stringify(buf.toString("latin1", v, w))}`;
          return;
        }
        n = n * 10 + d;
      }
      if (this.length >= 0 && n !== this.length) {
        this.lengthError = `several different Content-Length values (${this.length} and ${n})`;
        return;
      }
      this.length = n;
    }
  }

  private transferEncoding(buf: Buffer, v: number, w: number): void {
    for (let at = v; at <= w;) {
      const { from: a, to: b, next } = readElement(buf, at, w);
      at = next;
      if (a === b) continue;
      this.te = true;
      // A coding may carry parameters ("gzip;q=1"): its name ends at ';' or whitespace.
      let e = a;
      while (e < b && buf[e] !== 59 && !isOws(buf[e]!)) e++;
      this.chunkedLast = sameWord(buf, a, e, CHUNKED);
    }
  }

  private connection(buf: Buffer, v: number, w: number): void {
    for (let at = v; at <= w;) {
      const { from: a, to: b, next } = readElement(buf, at, w);
      at = next;
      if (sameWord(buf, a, b, CLOSE)) this.close = true;
      else if (sameWord(buf, a, b, KEEP_ALIVE)) this.keepAlive = true;
    }
  }
}

/**
 * Reads a status line and head at the start of buf, in one pass over its bytes: the head, an error, or undefined
 * when the blank line that ends it has not arrived yet.
 */
function parseHead(buf: Buffer, isHead: boolean): Head | { error: string; kind: string } | undefined {
  const size = buf.length;
  const statusEnd = lineEnd(buf, 0, size);
  if (statusEnd < 0) {
    // Bytes that cannot begin a status line fail now, not at the timeout (a target that speaks another protocol).
    for (let i = 0; i < size && i < HTTP_1.length; i++) {
      if (buf[i] !== HTTP_1[i]) return notHttp(buf);
    }
    return headIncomplete(buf);
  }
  // "HTTP/1.x SSS" then a space or the line's end (the reason phrase may be empty).
  if (
    statusEnd < 12 ||
    buf[0] !== 72 ||
    buf[1] !== 84 ||
    buf[2] !== 84 ||
    buf[3] !== 80 ||
    buf[4] !== 47 ||
    buf[5] !== 49 ||
    buf[6] !== 46 ||
    buf[7]! < 48 ||
    buf[7]! > 57 ||
    buf[8] !== 32
  ) {
    return notHttp(buf);
  }
  const d0 = buf[9]! - 48;
  const d1 = buf[10]! - 48;
  const d2 = buf[11]! - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (statusEnd > 12 && buf[12] !== 32)) {
    return { kind: "malformed-response", error: `a malformed status line: ${JSON.stringify(buf.toString("latin1", 0, Math.min(size, 80)))}` };
  }
  const status = d0 * 100 + d1 * 10 + d2;
  const http10 = buf[7] === 48;
  const fields = new FramingFields();
  // Field lines, each ended by CRLF, up to the empty line.
  let from = statusEnd + 2;
  for (;;) {
    const to = lineEnd(buf, from, size);
    if (to < 0) return headIncomplete(buf);
    if (to === from) break;
    let colon = from;
    while (colon < to && buf[colon] !== 58) colon++;
    if (colon === to)
      return { kind: "malformed-response", error: `a header line without a colon: ${JSON.stringify(buf.toString("latin1", from, Math.min(to, from + 80)))}` };
    let v = colon + 1;
    let w = to;
    while (v < w && isOws(buf[v]!)) v++;
    while (w > v && isOws(buf[w - 1]!)) w--;
    fields.field(buf, from, colon, v, w);
    from = to + 2;
  }
  const bodyStart = from + 2;
  const { length, lengthError, te, chunkedLast, keepAlive } = fields;
  const close = fields.close || (http10 && !keepAlive);
  if (status === 101) return { kind: "protocol-switch", error: "101 Switching Protocols: the target wants another protocol than HTTP/1.1" };
  // Interim answers have no body either; the caller skips them.
  if (isHead || status === 204 || status === 304 || status < 200) return { status, framing: NO_BODY, close, bodyStart };
  if (te) {
    if (http10) return { kind: "malformed-response", error: "an HTTP/1.0 answer with Transfer-Encoding (faulty framing, RFC 9112 §6.1)" };
    // Transfer-Encoding overrides Content-Length; a message with both is not trusted with the connection after it.
    return {
      status,
      framing: chunkedLast ? CHUNKED_BODY : CLOSE_DELIMITED,
      close: close || length >= 0 || lengthError !== undefined || !chunkedLast,
      bodyStart,
    };
  }
  if (lengthError !== undefined) return { kind: "malformed-response", error: lengthError };
  if (length > MAX_BODY) return { kind: "malformed-response", error: `a body of ${length} bytes` };
  if (length >= 0) return { status, framing: { kind: "length", length }, close, bodyStart };
  return { status, framing: CLOSE_DELIMITED, close: true, bodyStart };
}

const NO_BODY: Framing = { kind: "none" };
const CHUNKED_BODY: Framing = { kind: "chunked" };
const CLOSE_DELIMITED: Framing = { kind: "close" };

/** Bytes that are not an HTTP/1.x status line, the first 80 shown. */
function notHttp(buf: Buffer): { error: string; kind: string } {
  return { kind: "malformed-response", error: `not an HTTP/1.1 response: ${JSON.stringify(buf.toString("latin1", 0, Math.min(buf.length, 80)))}` };
}

/** A head not complete yet: more bytes are needed, unless it is already too large to be a registration's. */
function headIncomplete(buf: Buffer): { error: string; kind: string } | undefined {
  return buf.length > MAX_HEAD ? { kind: "malformed-response", error: "a response head of more than 64 KiB" } : undefined;
}

/** A chunked body from `start`: its bytes and where the message ends, or whether more bytes are needed. */
function dechunk(buf: Buffer, start: number): { body: Buffer; end: number } | "incomplete" | string {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return buf.length - at > 1024 ? "a chunk-size line of more than 1 KiB" : "incomplete";
    // chunk-size is 1*HEXDIG, then optional whitespace and extensions after ';'.
    let size = 0;
    let i = at;
    for (; i < eol; i++) {
      const c = buf[i]!;
      const d = c >= 48 && c <= 57 ? c - 48 : (c | 0x20) >= 97 && (c | 0x20) <= 102 ? (c | 0x20) - 87 : -1;
      if (d < 0) break;
      size = size * 16 + d;
      if (size > MAX_BODY) return "a chunk of more than 16 MiB";
    }
    if (i === at) return `a malformed chunk size: ${JSON.stringify(buf.toString("latin1", at, Math.min(eol, at + 40)))}`;
    while (i < eol && isOws(buf[i]!)) i++;
    if (i < eol && buf[i] !== 59) return `a malformed chunk size: ${JSON.stringify(buf.toString("latin1", at, Math.min(eol, at + 40)))}`;
    if (size === 0) {
      // The trailer section: field lines, then an empty line.
      if (buf.length < eol + 4) return "incomplete";
      if (buf[eol + 2] === CR && buf[eol + 3] === LF) return { body: parts.length === 1 ? parts[0]! : Buffer.concat(parts), end: eol + 4 };
      const end = buf.indexOf(HEADER_END, eol);
      if (end < 0) return buf.length - eol > MAX_HEAD ? "trailers of more than 64 KiB" : "incomplete";
      return { body: parts.length === 1 ? parts[0]! : Buffer.concat(parts), end: end + 4 };
    }
    if (buf.length < eol + 2 + size + 2) return "incomplete";
    if (buf[eol + 2 + size] !== CR || buf[eol + 3 + size] !== LF) return "a chunk not followed by CRLF";
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * One connection's answers, one at a time: `push` bytes as they arrive, `end` when the connection closes. After an
 * answer, `reset` for the next request (its method decides whether a body follows).
 */
export class ResponseParser {
  private buf: Buffer | undefined;
  private head: Head | undefined;
  private headText: string | undefined;
  private isHead = false;

  /** keepHead: hand the final answer's head text with it (a profile that reads a header needs it). */
  constructor(private readonly keepHead = false) {}

  /** Expects the answer to a new request; `method` HEAD has no body. */
  reset(method = "POST"): void {
    this.buf = undefined;
    this.head = undefined;
    this.headText = undefined;
    this.isHead = method === "HEAD";
  }

  /** Bytes held for an answer that is not complete yet (the caller copies them out of a reused read buffer). */
  get held(): Buffer | undefined {
    return this.buf;
  }

  set held(buf: Buffer | undefined) {
    this.buf = buf;
  }

  /** Adds bytes; an answer when one is complete (`extra` bytes after it), an error, or undefined for more. */
  push(chunk: Buffer): ParseStep {
    this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    return this.step(false);
  }

  /** The connection ended: a close-delimited answer is complete; anything else still in the making is an error. */
  end(): ParseStep {
    return this.step(true);
  }

  private step(ended: boolean): ParseStep {
    for (;;) {
      const buf = this.buf;
      if (!buf) return ended ? { kind: "connection-error", error: "the connection closed before an answer" } : undefined;
      if (!this.head) {
        const head = parseHead(buf, this.isHead);
        if (head === undefined) return ended ? { kind: "connection-error", error: "the connection closed in the middle of an answer's head" } : undefined;
        if ("error" in head) return head;
        if (head.status < 200) {
          // An interim answer: dropped with its head, and the final one read from what follows.
          this.buf = buf.length > head.bodyStart ? buf.subarray(head.bodyStart) : undefined;
          continue;
        }
        this.head = head;
        if (this.keepHead) this.headText = buf.toString("latin1", 0, head.bodyStart - 4);
      }
      const { status, framing, close, bodyStart } = this.head;
      switch (framing.kind) {
        case "none":
          return this.done(status, buf.subarray(bodyStart, bodyStart), close, buf.length - bodyStart);
        case "length": {
          const end = bodyStart + framing.length;
          if (buf.length < end) return ended ? { kind: "connection-error", error: "the connection closed before the answer's Content-Length" } : undefined;
          return this.done(status, buf.subarray(bodyStart, end), close, buf.length - end);
        }
        case "chunked": {
          const body = dechunk(buf, bodyStart);
          if (body === "incomplete") return ended ? { kind: "connection-error", error: "the connection closed in the middle of a chunked body" } : undefined;
          if (typeof body === "string") return { kind: "malformed-response", error: body };
          return this.done(status, body.body, close, buf.length - body.end);
        }
        case "close":
          if (buf.length - bodyStart > MAX_BODY) return { kind: "malformed-response", error: "a body of more than 16 MiB" };
          return ended ? this.done(status, buf.subarray(bodyStart), true, 0) : undefined;
      }
    }
  }

  private done(status: number, body: Buffer, close: boolean, extra: number): ParseStep {
    const head = this.headText;
    this.buf = undefined;
    this.head = undefined;
    this.headText = undefined;
    return { done: head === undefined ? { status, body, close } : { status, body, close, head }, extra };
  }
}
