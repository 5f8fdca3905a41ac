import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { errorKind, RegbenchError, ValidationError, type ErrorKind } from "../core/errors.js";
import { validateRequest } from "../core/validate.js";
import type { Store } from "../store/store.js";
import type { Strategy } from "../strategies/strategy.js";
import { RateLimitedLog } from "./rateLimitedLog.js";
import { decodeUtf8Body } from "./utf8.js";

/** Settings of the HTTP front of the registration core. */
export interface ServerSettings {
  /** Bodies larger than this are refused with 413 before they are read to the end. */
  readonly bodyLimitBytes: number;
  /**
   * Open connections at most. At the cap, a new connection takes the place of the oldest one without a request in
   * progress (still sending its headers, or idle between keep-alive requests), as nginx reuses such connections;
   * when every connection has a request in progress, the new one is answered 503 (Retry-After) and closed.
   */
  readonly maxConnections: number;
  /** A request's headers must be complete this long after its first byte (or after the connection opened): else 408. */
  readonly headerTimeoutMs: number;
  /** A request, headers and body, must be received in full within this (never shorter than the header timeout). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** A connection with no traffic either way for this long is destroyed (a request waiting for its lock included). */
  readonly idleTimeoutMs: number;
}

export const DEFAULT_SERVER_SETTINGS: ServerSettings = Object.freeze({
  bodyLimitBytes: 16 * 1024,
  maxConnections: 4096,
  headerTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 120_000,
});

/** The longest --header-timeout: beyond it a slow client holds a connection for as long as it likes. */
export const MAX_HEADER_TIMEOUT_MS = 300_000;

/** After an answer sent before the body was read, at most this much more is read and discarded, for this long. */
const LINGER_BYTES = 64 * 1024;
const LINGER_MS = 1_000;

/** The status each error kind is answered with: one table, used by every route. */
export const STATUS_OF: Readonly<Record<ErrorKind, number>> = Object.freeze({
  "invalid-request": 400,
  "wrong-key": 401,
  "unknown-project": 404,
  "pool-exhausted": 409,
  "machine-conflict": 409,
  "lock-timeout": 503,
  "lock-busy": 503,
  "lock-lost": 503,
  conflict: 503,
  "stale-fence": 503,
  "lock-service-unavailable": 503,
  "unique-violation": 503,
  "transaction-conflict": 503,
  store: 503,
  internal: 500,
});

/** Seconds a client should wait before retrying a 503. */
/** The most rows one page of GET /v1/audit/rows may ask for. */
const MAX_AUDIT_PAGE = 50_000;
const RETRY_AFTER_S = 1;

/**
 * A run prefix as the audit endpoint accepts it: letters, digits and `_`, no dash — a run's IDs are its prefix, a
 * dash and the rest, so `run=f` answers the rows of run `f` only, never of every run whose prefix starts with f.
 */
const RUN_ID = /^[A-Za-z0-9_]{1,64}$/;

export interface ServerDeps {
  readonly strategy: Strategy;
  readonly store: Store;
  readonly strategyName: string;
  /**
   * The bearer token `GET /v1/audit/rows` requires (`Authorization: Bearer …`): the rows of every project are behind
   * it. Undefined disables the endpoint.
   */
  readonly auditToken: string | undefined;
  readonly settings?: ServerSettings;
  /**
   * Where errors are logged: at most one line per kind per second, each unexpected failure with its error id. The
   * process's entry point says where (stderr for `regbench serve`); the server itself never prints.
   */
  readonly log: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const unread = !res.req.complete && hasBody(res.req);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
    ...(unread ? { connection: "close" } : {}),
  });
  res.end(text);
  if (unread) closeUnread(res);
}

/** Whether a request carries a body (RFC 9112 §6.3); one without is complete once its headers are. */
function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");
}

/**
 * Ends a connection whose request body was not read to its end (a 413, a 415, any early answer): the answer says
 * `Connection: close`, and once it is sent the connection is destroyed. A short, bounded lingering read in between
 * (RFC 9112 §9.6) lets the client see the answer rather than a reset; a body that never ends is never read.
 */
function closeUnread(res: ServerResponse): void {
  const socket = res.req.socket;
  res.once("finish", () => {
    if (socket.destroyed) return;
    let read = 0;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once("close", () => clearTimeout(timer));
    res.req.on("data", (chunk: Buffer) => {
      read += chunk.length;
      if (read > LINGER_BYTES) socket.destroy();
    });
  });
}

/** Reads a JSON body up to the limit; a larger one is refused without reading the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const type = req.headers["content-type"];
    if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
      reject(
        new HttpError(
          415,
          "unsupported-media-type",
          type === undefined ? "send the body as application/json (the content-type header is missing)" : `content-type must be application/json, not ${type}`,
        ),
      );
      return;
    }
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, "body-too-large", `the body is ${declared} bytes; the limit is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        reject(new HttpError(413, "body-too-large", `the body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      let text: string;
      try {
        text = decodeUtf8Body(Buffer.concat(chunks));
      } catch (error) {
        return reject(error);
      }
      if (text.length === 0) return reject(new HttpError(400, "invalid-request", "the body is empty: send a JSON object"));
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new HttpError(400, "invalid-request", `malformed JSON: ${(error as Error).message}`));
      }
    });
    req.on("error", reject);
  });
}

/**
 * The request target split into path and query without URL parsing that can throw: a target that is not an
 * origin-form path (`//[`, `*`, a full URL) is a 400, never a 500.
 */
function routeOf(target: string | undefined): { path: string; query: URLSearchParams } {
  if (!target || target[0] !== "/" || target.startsWith("//"))
    throw new HttpError(400, "invalid-request", "the request target must be a path such as /v1/register");
  const q = target.indexOf("?");
  return q < 0 ? { path: target, query: new URLSearchParams() } : { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
}

/** Constant-time comparison of a presented bearer token with the expected one (both hashed to one length first). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
  if (presented === undefined) return false;
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(token));
}

const OVERLOADED = (() => {
  const body = JSON.stringify({ error: "too-many-connections", message: "the server is at its connection limit: retry later" });
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: ${RETRY_AFTER_S}\r\nconnection: close\r\n\r\n${body}`;
})();

/**
 * The HTTP API of the registration core, on node's http module:
 * - POST /v1/register → 200 {machineId, ipv4, config}; 400 / 401 / 404 / 409 / 413 / 415 / 503 (Retry-After) /
 *   500 (with an error id, logged) as `STATUS_OF` says;
 * - GET /v1/audit/rows?run=ID with the audit token → the systems and machines of run ID (identities and IPs only);
 * - GET /healthz.
 * A request is validated in full before the strategy sees it, so a bad request never writes anything.
 */
export function createRegistrationServer(deps: ServerDeps): Server {
  const settings = deps.settings ?? DEFAULT_SERVER_SETTINGS;
  const log = new RateLimitedLog(deps.log);

  const fail = (res: ServerResponse, error: unknown) => {
    if (error instanceof HttpError) return send(res, error.status, { error: error.kind, message: error.message }, error.headers);
    if (error instanceof ValidationError) return send(res, 400, { error: error.kind, field: error.field, message: error.message });
    const kind = errorKind(error);
    const status = STATUS_OF[kind];
    if (status === 500 || !(error instanceof RegbenchError)) {
      const id = randomBytes(6).toString("hex");
      log.write("internal", `regbench serve: error ${id}: ${(error as Error)?.stack ?? String(error)}`);
      return send(res, 500, { error: "internal", errorId: id, message: `unexpected failure, error id ${id}` });
    }
    if (status >= 500) log.write(kind, `regbench serve: ${status} ${kind}: ${error.message}`);
    return send(res, status, { error: kind, message: error.message }, status === 503 ? { "retry-after": String(RETRY_AFTER_S) } : {});
  };

  const server = createServer(
    {
      keepAlive: true,
      headersTimeout: settings.headerTimeoutMs,
      requestTimeout: Math.max(settings.requestTimeoutMs, settings.headerTimeoutMs),
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      // node enforces both timeouts only when it sweeps its connections (every 30 s by default): sweep often enough
      // that a slow client is closed within a fifth of the header timeout of its deadline.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(settings.headerTimeoutMs / 5))),
    },
    (req, res) => void handle(req, res),
  );
  // Every failure ends in an answer (fail): the handler's promise never rejects.
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const { path, query } = routeOf(req.url);
      if (path === "/v1/register") {
        if (req.method !== "POST") throw new HttpError(405, "method-not-allowed", "use POST", { allow: "POST" });
        const body = await readBody(req, settings.bodyLimitBytes);
        const request = validateRequest(body);
        const response = await deps.strategy.register(request);
        return send(res, 200, response);
      }
      if (path === "/v1/audit/rows") {
        if (req.method !== "GET") throw new HttpError(405, "method-not-allowed", "use GET", { allow: "GET" });
        if (deps.auditToken === undefined) throw new HttpError(404, "not-found", "the audit endpoint is disabled on this server");
        if (!tokenMatches(req.headers.authorization, deps.auditToken)) {
          throw new HttpError(401, "unauthorized", "the audit endpoint needs the server's audit token: Authorization: Bearer TOKEN", {
            "www-authenticate": "Bearer",
          });
        }
        const run = query.get("run") ?? "";
        if (!RUN_ID.test(run)) throw new HttpError(400, "invalid-request", "run must be a run prefix: 1 to 64 letters, digits or _");
        const limitText = query.get("limit");
        if (limitText === null) {
          const rows = await deps.store.auditRows(run);
          return send(res, 200, { run, systems: rows.systems, machines: rows.machines });
        }
        // Paged: systems, then machines, `next` the opaque position of the next page (null after the last one).
        const limit = Number(limitText);
        if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_AUDIT_PAGE)
          throw new HttpError(400, "invalid-request", `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}`);
        const after = /^([sm]):(\d{1,15})$/.exec(query.get("after") ?? "s:0");
        if (!after) throw new HttpError(400, "invalid-request", "after must be the next value of the previous page (or absent for the first one)");
        if (!deps.store.auditPage) throw new HttpError(501, "not-implemented", "this store cannot page its audit rows: leave limit out");
        const table = after[1] === "s" ? "systems" : "machines";
        const page = await deps.store.auditPage(run, table, Number(after[2]), limit);
        const next = page.rows.length === limit ? `${after[1]}:${page.last}` : table === "systems" ? "m:0" : null;
        return send(res, 200, { run, systems: table === "systems" ? page.rows : [], machines: table === "machines" ? page.rows : [], next });
      }
      if (path === "/healthz") return send(res, 200, { status: "ok", strategy: deps.strategyName, pid: process.pid });
      throw new HttpError(404, "not-found", `no route ${req.method} ${path.slice(0, 100)}`);
    } catch (error) {
      fail(res, error);
    }
  }
  server.setTimeout(settings.idleTimeoutMs);
  // The open connections, and among them those without a request in progress, oldest first: at the cap, the oldest
  // of these makes room for a new connection, so clients that never finish their headers cannot hold every slot.
  // Only when every connection has a request in progress is a new one refused: a 503 it can read, not a reset.
  const open = new Set<Socket>();
  const waiting = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    if (open.size >= settings.maxConnections) {
      const oldest = waiting.values().next().value as Socket | undefined;
      if (oldest === undefined) {
        log.write("too-many-connections", `regbench serve: refused a connection beyond --max-connections ${settings.maxConnections}`);
        socket.end(OVERLOADED);
        socket.on("error", () => {});
        return;
      }
      log.write(
        "connection-reused",
        `regbench serve: closed the oldest connection without a request to stay within --max-connections ${settings.maxConnections}`,
      );
      open.delete(oldest);
      waiting.delete(oldest);
      oldest.destroy();
    }
    open.add(socket);
    waiting.add(socket);
    socket.once("close", () => {
      open.delete(socket);
      waiting.delete(socket);
    });
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    waiting.delete(socket);
    res.once("close", () => {
      if (open.has(socket) && !socket.destroyed) waiting.add(socket);
    });
  });
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    // A client too slow to send its request (the header or request timeout): 408, as node answers by default.
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      log.write("slow-client", `regbench serve: closed a connection that did not send its request in time (--header-timeout ${settings.headerTimeoutMs} ms)`);
      if (socket.writable) socket.end("HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      socket.destroySoon();
      return;
    }
    // Unparseable HTTP: answer 400 and close, as node does by default, without a stack trace per request.
    log.write("client-error", `regbench serve: bad HTTP from a client (${error.code ?? error.message})`);
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });
  return server;
}
