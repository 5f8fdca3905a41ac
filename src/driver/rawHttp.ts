import net from "node:net";
import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import { HttpOutcomeError, type HttpClientSettings, type HttpRegistration } from "./httpClient.js";
import { compileProfile, type CompiledProfile } from "./profile/compile.js";
import { regbenchProfile } from "./profile/spec.js";
import { ResponseParser, type ParsedResponse, type ParseStep } from "./http1.js";
import type { Send, SendMark, Settle } from "./loops.js";

const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
let lastView = READ_BUFFER.subarray(0, 0);

/** The `n` bytes a read left in `buf` as a Buffer: the same view as the last read's when it was as long (answers of one size). */
function readView(buf: Uint8Array, n: number): Buffer {
  if (buf.buffer !== READ_BUFFER.buffer || buf.byteOffset !== 0) return Buffer.from(buf.buffer, buf.byteOffset, n);
  if (lastView.length !== n) lastView = READ_BUFFER.subarray(0, n);
  return lastView;
}

interface Pending {
  readonly settle: Settle;
  readonly startedAt: number;
  /** The machineID sent: the answer's, when the profile reads none. */
  readonly machineId: string;
  /** Told when the request's bytes are written. */
  readonly mark: SendMark | undefined;
}

/**
 * One keep-alive connection carrying one request at a time: the request written in one call, the answer framed by
 * ResponseParser (RFC 9112 §6.3: interim answers skipped, Content-Length, chunked, close-delimited, Connection
 * tokens), the body checked by checkRegistration. Nothing is allocated per request beyond the request's string and
 * the response's bytes.
 */
class Connection {
  readonly socket: net.Socket;
  pending: Pending | undefined;
  private readonly parser: ResponseParser;
  private connected = false;
  /** The request to write: at the end of this event-loop turn, or once the connection is made. */
  private outgoing: string | undefined;
  dead = false;

  constructor(
    port: number,
    host: string,
    private readonly requireConfig: boolean,
    private readonly profile: CompiledProfile,
    private readonly onFree: (c: Connection) => void,
    private readonly onDead: (c: Connection) => void,
    private readonly onOutgoing: (c: Connection) => void,
  ) {
    this.parser = new ResponseParser(profile.needsHead);
    // Reads land in one buffer shared by every connection of this thread (each read is parsed before the next one
    // is made), rather than in a fresh 64 KiB allocation per read.
    this.socket = net.connect({
      port,
      host,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          this.onData(readView(buf, n));
          // An answer that did not end in this read keeps its bytes: the buffer is reused by the next one.
          const held = this.parser.held;
          if (held && held.buffer === READ_BUFFER.buffer) this.parser.held = Buffer.from(held);
          return true;
        },
      },
    });
    this.socket.on("connect", () => {
      this.connected = true;
      // Written now, and not marked: the first request's latency includes the connect.
      const request = this.outgoing;
      this.outgoing = undefined;
      if (request !== undefined) this.socket.write(request, "utf8");
    });
    this.socket.on("error", (error: Error & { code?: string }) => this.fail("connection-error", error.message));
    this.socket.on("close", () => this.fail("connection-error", "the connection closed before a complete answer"));
    this.socket.on("end", () => {
      // The server is done sending: a body framed by the connection's end is complete now; anything else fails.
      if (!this.pending) return;
      this.settle(this.parser.end());
    });
  }

  send(request: string, pending: Pending): void {
    this.pending = pending;
    this.parser.reset(this.profile.method);
    this.outgoing = request;
    if (this.connected) this.onOutgoing(this);
  }

  /** Writes the request held for this turn, if the connection still carries it, and marks its send. */
  write(): void {
    const request = this.outgoing;
    if (request === undefined || this.dead) return;
    this.outgoing = undefined;
    const mark = this.pending?.mark;
    if (mark) mark.at = performance.now();
    this.socket.write(request, "utf8");
  }

  /** Fails the request in flight (if any) and retires the connection. */
  fail(kind: string, message: string): void {
    if (this.dead) return;
    this.dead = true;
    const p = this.pending;
    this.pending = undefined;
    this.socket.destroy();
    this.onDead(this);
    p?.settle(undefined, new HttpOutcomeError(kind, message));
  }

  private onData(chunk: Buffer): void {
    if (!this.pending) {
      this.fail("connection-error", "the server sent bytes nobody asked for");
      return;
    }
    this.settle(this.parser.push(chunk));
  }

  private settle(step: ParseStep): void {
    if (step === undefined) return;
    if ("error" in step) {
      this.fail(step.kind, step.error);
      return;
    }
    if (step.extra > 0) {
      // One request at a time: bytes past the answer belong to nothing asked for (a wrong Content-Length, say).
      this.fail("malformed-response", "more bytes than the answer's framing");
      return;
    }
    this.finish(step.done);
  }

  private finish({ status, body, close, head }: ParsedResponse): void {
    const p = this.pending!;
    this.pending = undefined;
    if (close) {
      this.dead = true;
      this.socket.destroy();
      this.onDead(this);
    }
    let response: RegisterResponse;
    try {
      response = this.profile.read(status, body.toString("utf8"), head, p.machineId, this.requireConfig);
    } catch (error) {
      if (!close) this.onFree(this);
      p.settle(undefined, error);
      return;
    }
    if (!close) this.onFree(this);
    p.settle(response, undefined);
  }
}

/**
 * `POST /v1/register` over at most `connections` keep-alive connections, one request at a time on each, written
 * and parsed by hand: about twice undici's pace for these small exchanges (measured against a fixed-answer nginx).
 * Each request is timed out after `timeoutMs` (connect and answer alike) by one timer set for the earliest deadline
 * rather than a timer per request, so a request fails at its timeout, not up to a sweep period later; each answer is
 * checked as the undici client checks it. http:// only.
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
  // The profile's text is one byte per character (compileProfile), so is every request built from it.
  const { method, path, headerLines, body: renderBody } = profile;
  const hostLine = ` HTTP/1.1\r\nHost: ${hostHeader}\r\n`;
  // GET and DELETE without a body send no Content-Length; every other request says its length, 0 included.
  const lengthless = renderBody === undefined && (method === "GET" || method === "DELETE");
  // A profile whose path and headers have no placeholders (regbench's own) has one head for every request.
  const fixedHead =
    path.constant !== undefined && headerLines.constant !== undefined ? `${method} ${path.constant}${hostLine}${headerLines.constant}` : undefined;
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  const waiting: { request: string; pending: Pending }[] = [];
  let closed = false;

  const onFree = (c: Connection) => {
    // After close(), a connection whose answer came is ended (close() waits for it to close).
    if (closed) {
      c.socket.end();
      return;
    }
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
  // The requests of one event-loop turn are written together at its end, as wrk does, rather than each as its
  // answer's predecessor is read: the server then wakes once per turn instead of once per request (on this 2-core
  // machine, a single thread's pace rose from about 37,000 to 47,000 requests/s against nginx). Each request's
  // latency counts from its own write (SendMark), so the wait is not charged to the server.
  const outbox: Connection[] = [];
  const flush = () => {
    for (const c of outbox) c.write();
    outbox.length = 0;
  };
  const onOutgoing = (c: Connection) => {
    if (outbox.push(c) === 1) setImmediate(flush);
  };
  const open = () => {
    const c = new Connection(port, host, settings.requireConfig, profile, onFree, onDead, onOutgoing);
    all.add(c);
    return c;
  };

  // Requests past their time are failed by one sweep, run by one timer set for the earliest deadline of a request
  // in flight or waiting (requests start in time order, so a new one rarely moves it): a healthy run pays one
  // sweep per `timeoutMs`, and a silent target's requests fail at their timeout.
  const { timeoutMs } = settings;
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Infinity;
  const arm = (deadline: number) => {
    if (closed || deadline >= armedFor) return;
    if (timer) clearTimeout(timer);
    armedFor = deadline;
    timer = setTimeout(sweep, Math.max(1, Math.ceil(deadline - performance.now())));
    timer.unref();
  };
  const sweep = () => {
    timer = undefined;
    armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const c of all) {
      if (!c.pending) continue;
      const deadline = c.pending.startedAt + timeoutMs;
      if (now >= deadline) c.fail("timeout", `no complete answer within ${timeoutMs} ms`);
      else next = Math.min(next, deadline);
    }
    for (let i = 0; i < waiting.length;) {
      const deadline = waiting[i]!.pending.startedAt + timeoutMs;
      if (now >= deadline) {
        waiting.splice(i, 1)[0]!.pending.settle(undefined, new HttpOutcomeError("timeout", `no connection within ${timeoutMs} ms`));
      } else {
        next = Math.min(next, deadline);
        i++;
      }
    }
    arm(next);
  };

  const stop = () => {
    closed = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const w of waiting.splice(0)) w.pending.settle(undefined, new HttpOutcomeError("connection-error", "the client was closed"));
  };

  const send: Send = (request, mark, settle) => {
    if (closed) {
      // Never settled during the call (the loops count on it for requests that do go out; this keeps it for all).
      queueMicrotask(() => settle(undefined, new HttpOutcomeError("connection-error", "the client was closed")));
      return;
    }
    // Written as UTF-8: the head is ASCII, the body's length is counted in bytes.
    const body = renderBody ? renderBody(request) : "";
    const head = fixedHead ?? `${method} ${path(request)}${hostLine}${headerLines(request)}`;
    const text = lengthless ? `${head}\r\n` : `${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const c = idle.pop() ?? (all.size < settings.connections ? open() : undefined);
    // A request that waits for a connection is not marked: its latency includes the wait.
    const pending = { settle, startedAt: performance.now(), machineId: request.machineId, mark: c ? mark : undefined };
    arm(pending.startedAt + timeoutMs);
    if (c) c.send(text, pending);
    else waiting.push({ request: text, pending });
  };

  return {
    send,
    register: (request: RegisterRequest, mark?: SendMark) =>
      new Promise<RegisterResponse>((resolve, reject) =>
        send(request, mark ?? { at: NaN }, (response, error) => (response !== undefined ? resolve(response) : reject(error as Error))),
      ),
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
