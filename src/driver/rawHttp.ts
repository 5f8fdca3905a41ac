import net from "node:net";
import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import { HttpOutcomeError, type HttpClientSettings, type HttpRegistration } from "./httpClient.js";
import { compileProfile, type CompiledProfile } from "./profile/compile.js";
import { regbenchProfile } from "./profile/spec.js";

const HEADER_END = Buffer.from("\r\n\r\n");
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const ASCII = /^[\x00-\x7f]*$/;
const CRLF = Buffer.from("\r\n");
/** A response head larger than this is not a registration answer. */
const MAX_HEAD = 64 * 1024;
/** Nor is a body larger than this. */
const MAX_BODY = 16 * 1024 * 1024;

interface Pending {
  readonly resolve: (response: RegisterResponse) => void;
  readonly reject: (error: Error) => void;
  readonly startedAt: number;
  /** The machineID sent: the answer's, when the profile reads none. */
  readonly machineId: string;
}

/** How the current response's body ends. */
type Framing = { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

/**
 * One keep-alive connection carrying one request at a time: the request written in one call, the response parsed
 * by hand (status line, Content-Length or chunked framing, Connection: close), the body checked by
 * checkRegistration. Nothing is allocated per request beyond the request's string and the response's bytes.
 */
class Connection {
  readonly socket: net.Socket;
  pending: Pending | undefined;
  private buf: Buffer | undefined;
  private head: { status: number; framing: Framing; close: boolean; bodyStart: number; text?: string } | undefined;
  private connected = false;
  private queued: string | undefined;
  dead = false;

  constructor(
    port: number,
    host: string,
    private readonly requireConfig: boolean,
    private readonly profile: CompiledProfile,
    private readonly onFree: (c: Connection) => void,
    private readonly onDead: (c: Connection) => void,
  ) {
    // Reads land in one buffer shared by every connection of this thread (each read is parsed before the next one
    // is made), rather than in a fresh 64 KiB allocation per read.
    this.socket = net.connect({
      port,
      host,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          this.onData(Buffer.from(buf.buffer, buf.byteOffset, n));
          // A response that did not end in this read keeps its bytes: the buffer is reused by the next one.
          if (this.buf && this.buf.buffer === READ_BUFFER.buffer) this.buf = Buffer.from(this.buf);
          return true;
        },
      },
    });
    this.socket.on("connect", () => {
      this.connected = true;
      if (this.queued !== undefined) {
        this.socket.write(this.queued, "latin1");
        this.queued = undefined;
      }
    });
    this.socket.on("error", (error: Error & { code?: string }) => this.fail("connection-error", error.message));
    this.socket.on("close", () => this.fail("connection-error", "the connection closed before a complete answer"));
    this.socket.on("end", () => {
      // A body framed by the connection's end is complete now.
      if (this.head?.framing.kind === "close" && this.buf) {
        this.head.close = true;
        this.finish(this.buf.subarray(this.head.bodyStart));
      }
    });
  }

  send(request: string, pending: Pending): void {
    this.pending = pending;
    if (this.connected) this.socket.write(request, "latin1");
    else this.queued = request;
  }

  /** Fails the request in flight (if any) and retires the connection. */
  fail(kind: string, message: string): void {
    if (this.dead) return;
    this.dead = true;
    const p = this.pending;
    this.pending = undefined;
    this.socket.destroy();
    this.onDead(this);
    p?.reject(new HttpOutcomeError(kind, message));
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    if (!this.pending) {
      this.fail("connection-error", "the server sent bytes nobody asked for");
      return;
    }
    if (!this.head) {
      const end = this.buf.indexOf(HEADER_END);
      if (end < 0) {
        if (this.buf.length > MAX_HEAD) this.fail("malformed-response", "a response head of more than 64 KiB");
        return;
      }
      const fast = fastHead(this.buf, end);
      if (fast) {
        this.head = { status: fast.status, framing: { kind: "length", length: fast.length }, close: false, bodyStart: end + 4 };
        if (this.profile.needsHead) this.head.text = this.buf.toString("latin1", 0, end);
      } else {
        const text = this.buf.toString("latin1", 0, end);
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        if (!status) {
          this.fail("malformed-response", `not an HTTP/1.1 response: ${JSON.stringify(text.slice(0, 80))}`);
          return;
        }
        const lower = text.toLowerCase();
        const length = /\r\ncontent-length:[ \t]*(\d+)[ \t]*(?:\r\n|$)/.exec(lower);
        const chunked = /\r\ntransfer-encoding:[^\r\n]*chunked/.test(lower);
        const close = /\r\nconnection:[ \t]*close/.test(lower) || text.startsWith("HTTP/1.0");
        const framing: Framing = chunked ? { kind: "chunked" } : length ? { kind: "length", length: Number(length[1]) } : { kind: "close" };
        if (framing.kind === "length" && framing.length > MAX_BODY) {
          this.fail("malformed-response", `a body of ${framing.length} bytes`);
          return;
        }
        this.head = { status: Number(status[1]), framing, close, bodyStart: end + 4, text };
      }
    }
    const { framing, bodyStart } = this.head;
    if (framing.kind === "length") {
      if (this.buf.length < bodyStart + framing.length) return;
      if (this.buf.length > bodyStart + framing.length) {
        this.fail("malformed-response", "more bytes than the answer's Content-Length");
        return;
      }
      this.finish(this.buf.subarray(bodyStart));
    } else if (framing.kind === "chunked") {
      const body = dechunk(this.buf, bodyStart);
      if (body === "incomplete") return;
      if (body === "malformed") {
        this.fail("malformed-response", "a malformed chunked body");
        return;
      }
      this.finish(body);
    } else if (this.buf.length - bodyStart > MAX_BODY) {
      this.fail("malformed-response", "a body of more than 16 MiB");
    }
  }

  private finish(body: Buffer): void {
    const { status, close, text } = this.head!;
    const p = this.pending!;
    this.pending = undefined;
    this.head = undefined;
    this.buf = undefined;
    if (close) {
      this.dead = true;
      this.socket.destroy();
      this.onDead(this);
    }
    let response: RegisterResponse;
    try {
      response = this.profile.read(status, body.toString("utf8"), text, p.machineId, this.requireConfig);
    } catch (error) {
      if (!close) this.onFree(this);
      p.reject(error as Error);
      return;
    }
    if (!close) this.onFree(this);
    p.resolve(response);
  }
}

const CONTENT_LENGTH = Buffer.from("\r\nContent-Length: ");
const RANSFER = Buffer.from("ransfer-");
const LOSE = Buffer.from("lose");
const LOSE_UPPER = Buffer.from("LOSE");

/**
 * The common answer read without making a string: `HTTP/1.1 DDD`, a `Content-Length: N` header spelled so, and
 * neither a Transfer-Encoding nor anything that could say "close" in the head. Anything else: undefined, and the
 * general parser reads it.
 */
function fastHead(buf: Buffer, end: number): { status: number; length: number } | undefined {
  // "HTTP/1.1 " then three digits.
  if (buf[0] !== 72 || buf[4] !== 47 || buf[5] !== 49 || buf[6] !== 46 || buf[7] !== 49 || buf[8] !== 32) return undefined;
  const d0 = buf[9]! - 48;
  const d1 = buf[10]! - 48;
  const d2 = buf[11]! - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return undefined;
  const at = buf.indexOf(CONTENT_LENGTH);
  if (at < 0 || at > end) return undefined;
  const t = buf.indexOf(RANSFER);
  if (t >= 0 && t < end) return undefined;
  const c = buf.indexOf(LOSE);
  if (c >= 0 && c < end) return undefined;
  const C = buf.indexOf(LOSE_UPPER);
  if (C >= 0 && C < end) return undefined;
  let length = 0;
  let i = at + CONTENT_LENGTH.length;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) break;
    length = length * 10 + d;
  }
  // The digits must end the header line, and the length be sane.
  if (i === at + CONTENT_LENGTH.length || (buf[i] !== 13 && i !== end) || length > MAX_BODY) return undefined;
  return { status: d0 * 100 + d1 * 10 + d2, length };
}

/** A chunked body decoded, or whether more bytes are needed. */
function dechunk(buf: Buffer, start: number): Buffer | "incomplete" | "malformed" {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return "incomplete";
    const size = parseInt(buf.toString("latin1", at, eol).split(";")[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) return "malformed";
    if (size === 0) {
      // Trailers end with an empty line.
      const end = buf.indexOf(HEADER_END, eol);
      if (end < 0 && buf.indexOf(CRLF, eol + 2) !== eol + 2) return "incomplete";
      return Buffer.concat(parts);
    }
    if (buf.length < eol + 2 + size + 2) return "incomplete";
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * A registration as the profile renders it (regbench's own `POST /v1/register` by default) over at most
 * `connections` keep-alive connections, one request at a time on each, written and parsed by hand: about twice undici's pace for these small exchanges (measured against a fixed-answer nginx).
 * Each request is timed out after `timeoutMs` (connect and answer alike) by one sweep every few ms rather than a
 * timer per request; each answer is checked as the undici client checks it. http:// only.
 */
export function rawHttpRegistration(
  baseUrl: string,
  settings: HttpClientSettings,
  profile: CompiledProfile = compileProfile(regbenchProfile(), baseUrl, ""),
): HttpRegistration {
  const url = new URL(baseUrl);
  const port = Number(url.port || 80);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const hostHeader = url.host;
  const { method, path, headerLines, body: renderBody } = profile;
  const hostLine = ` HTTP/1.1\r\nHost: ${hostHeader}\r\n`;
  // GET and DELETE without a body send no Content-Length; every other request says its length, 0 included.
  const lengthless = renderBody === undefined && (method === "GET" || method === "DELETE");
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  const waiting: { request: string; pending: Pending }[] = [];
  let closed = false;

  const onFree = (c: Connection) => {
    const next = waiting.shift();
    if (next) c.send(next.request, next.pending);
    else idle.push(c);
  };
  const onDead = (c: Connection) => {
    all.delete(c);
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    // A waiting request gets a new connection in the dead one's place.
    const next = waiting.shift();
    if (next && !closed) open().send(next.request, next.pending);
  };
  const open = () => {
    const c = new Connection(port, host, settings.requireConfig, profile, onFree, onDead);
    all.add(c);
    return c;
  };

  // Requests past their time are failed by one sweep, not a timer each.
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const c of all)
        if (c.pending && now - c.pending.startedAt > settings.timeoutMs) c.fail("timeout", `no complete answer within ${settings.timeoutMs} ms`);
      for (let i = 0; i < waiting.length;) {
        if (now - waiting[i]!.pending.startedAt > settings.timeoutMs) {
          waiting.splice(i, 1)[0]!.pending.reject(new HttpOutcomeError("timeout", `no connection within ${settings.timeoutMs} ms`));
        } else i++;
      }
    },
    Math.max(5, Math.min(100, settings.timeoutMs / 10)),
  );
  sweep.unref();

  const stop = () => {
    closed = true;
    clearInterval(sweep);
    for (const w of waiting.splice(0)) w.pending.reject(new HttpOutcomeError("connection-error", "the client was closed"));
  };

  return {
    register(request: RegisterRequest) {
      return new Promise<RegisterResponse>((resolve, reject) => {
        if (closed) {
          reject(new HttpOutcomeError("connection-error", "the client was closed"));
          return;
        }
        // Written as latin1, which is the bytes of an ASCII text and cheaper to encode; a body with other
        // characters is turned into its UTF-8 bytes, one latin1 character per byte, first.
        let body = renderBody ? renderBody(request) : "";
        if (!ASCII.test(body)) body = Buffer.from(body, "utf8").toString("latin1");
        const head = `${method} ${path(request)}${hostLine}${headerLines(request)}`;
        const text = lengthless ? `${head}\r\n` : `${head}Content-Length: ${body.length}\r\n\r\n${body}`;
        const pending = { resolve, reject, startedAt: performance.now(), machineId: request.machineId };
        const c = idle.pop() ?? (all.size < settings.connections ? open() : undefined);
        if (c) c.send(text, pending);
        else waiting.push({ request: text, pending });
      });
    },
    async close() {
      stop();
      await Promise.all(
        [...all].map((c) => new Promise<void>((resolve) => (c.pending ? c.socket.once("close", () => resolve()) : (c.socket.end(), resolve())))),
      );
    },
    async destroy() {
      stop();
      for (const c of [...all]) c.fail("connection-error", "the run stopped");
    },
  };
}
