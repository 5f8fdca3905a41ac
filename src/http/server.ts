import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { errorKind, RegbenchError, ValidationError, type ErrorKind } from "../core/errors.js";
import { validateRequest } from "../core/validate.js";
import type { Store } from "../store/store.js";
import type { Strategy } from "../strategies/strategy.js";

/** Settings of the HTTP front of the registration core. */
export interface ServerSettings {
  /** Bodies larger than this are refused with 413 before they are read to the end. */
  readonly bodyLimitBytes: number;
}

export const DEFAULT_SERVER_SETTINGS: ServerSettings = Object.freeze({ bodyLimitBytes: 16 * 1024 });

/** The status each error kind is answered with: one table, used by every route. */
export const STATUS_OF: Readonly<Record<ErrorKind, number>> = Object.freeze({
  "invalid-request": 400,
  "wrong-key": 401,
  "unknown-project": 404,
  "pool-exhausted": 409,
  "lock-timeout": 503,
  "lock-busy": 503,
  "lock-lost": 503,
  conflict: 503,
  "stale-fence": 503,
  "redis-unavailable": 503,
  "unique-violation": 503,
  store: 503,
  internal: 500,
});

/** Seconds a client should wait before retrying a 503. */
const RETRY_AFTER_S = 1;

/** A run prefix as the audit endpoint accepts it. */
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface ServerDeps {
  readonly strategy: Strategy;
  readonly store: Store;
  readonly strategyName: string;
  readonly settings?: ServerSettings;
  /** Where unexpected failures are logged, with their error id. */
  readonly log?: (line: string) => void;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly kind: string, message: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Reads a JSON body up to the limit; a larger one is refused without reading the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const type = req.headers["content-type"];
    if (type !== undefined && !/^application\/json\b/i.test(type)) {
      reject(new HttpError(415, "unsupported-media-type", `content-type must be application/json, not ${type}`));
      req.resume();
      return;
    }
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, "body-too-large", `the body is ${declared} bytes; the limit is ${limit}`));
      req.resume();
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
      const text = Buffer.concat(chunks).toString("utf8");
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
 * The HTTP API of the registration core, on node's http module:
 * - POST /v1/register → 200 {machineId, ipv4, config}; 400 / 401 / 404 / 409 / 413 / 415 / 503 (Retry-After) /
 *   500 (with an error id, logged) as `STATUS_OF` says;
 * - GET /v1/audit/rows?run=ID → the systems and machines whose IDs start with ID (identities and IPs only);
 * - GET /healthz.
 * A request is validated in full before the strategy sees it, so a bad request never writes anything.
 */
export function createRegistrationServer(deps: ServerDeps): Server {
  const settings = deps.settings ?? DEFAULT_SERVER_SETTINGS;
  const log = deps.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  const fail = (res: ServerResponse, error: unknown) => {
    if (error instanceof HttpError) return send(res, error.status, { error: error.kind, message: error.message });
    if (error instanceof ValidationError) return send(res, 400, { error: error.kind, field: error.field, message: error.message });
    const kind = errorKind(error);
    const status = STATUS_OF[kind];
    if (status === 500 || !(error instanceof RegbenchError)) {
      const id = randomBytes(6).toString("hex");
      log(`regbench serve: error ${id}: ${(error as Error)?.stack ?? String(error)}`);
      return send(res, 500, { error: "internal", errorId: id, message: `unexpected failure, logged as ${id}` });
    }
    return send(res, status, { error: kind, message: error.message }, status === 503 ? { "retry-after": String(RETRY_AFTER_S) } : {});
  };

  return createServer({ keepAlive: true }, async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/v1/register") {
        if (req.method !== "POST") throw new HttpError(405, "method-not-allowed", "use POST");
        const body = await readBody(req, settings.bodyLimitBytes);
        const request = validateRequest(body);
        const response = await deps.strategy.register(request);
        return send(res, 200, response);
      }
      if (url.pathname === "/v1/audit/rows") {
        if (req.method !== "GET") throw new HttpError(405, "method-not-allowed", "use GET");
        const run = url.searchParams.get("run") ?? "";
        if (!RUN_ID.test(run)) throw new HttpError(400, "invalid-request", "run must be 1 to 64 letters, digits, - or _");
        const rows = await deps.store.auditRows(run);
        return send(res, 200, { run, systems: rows.systems, machines: rows.machines });
      }
      if (url.pathname === "/healthz") return send(res, 200, { status: "ok", strategy: deps.strategyName, pid: process.pid });
      throw new HttpError(404, "not-found", `no route ${req.method} ${url.pathname}`);
    } catch (error) {
      if (error instanceof HttpError && error.status === 405) {
        return send(res, 405, { error: error.kind, message: error.message }, { allow: req.url?.startsWith("/v1/register") ? "POST" : "GET" });
      }
      fail(res, error);
    }
  });
}
