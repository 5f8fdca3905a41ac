import { Pool, type Dispatcher } from "undici";
import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import type { Register } from "./loops.js";

/** A non-200 answer, a malformed 200 or a failed exchange, with the kind the report counts it under. */
export class HttpOutcomeError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpClientSettings {
  /** Keep-alive connections, at most; the closed loop keeps `-c` requests in flight over as many connections. */
  readonly connections: number;
  /** A request with no complete answer after this long fails as `timeout`. */
  readonly timeoutMs: number;
  /** The answer must carry a `config` string (the server key is known, so the audit opens every config). */
  readonly requireConfig: boolean;
}

/** A dotted-quad IPv4 with each part from 0 to 255. */
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** An error kind a server may name in its body; anything else is counted by status. */
const KIND = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * A 200 counts only if its body is a JSON object with a string `machineId`, a dotted-quad `ipv4` and, when the
 * configs are to be opened, a string `config`. Anything else is `malformed-response`, never a crash.
 */
export function checkRegistration(status: number, text: string, requireConfig: boolean): RegisterResponse {
  let body: unknown;
  try {
    body = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status !== 200) {
    const kind = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
    throw new HttpOutcomeError(typeof kind === "string" && KIND.test(kind) ? kind : `http-${status}`, `${status}: ${text.slice(0, 200)}`);
  }
  const r = body as Partial<Record<keyof RegisterResponse, unknown>> | null | undefined;
  if (
    typeof r !== "object" ||
    r === null ||
    Array.isArray(r) ||
    typeof r.machineId !== "string" ||
    typeof r.ipv4 !== "string" ||
    !IPV4.test(r.ipv4) ||
    (r.config !== undefined && typeof r.config !== "string") ||
    (requireConfig && typeof r.config !== "string")
  ) {
    throw new HttpOutcomeError("malformed-response", `200 with a body that is not a registration: ${text.slice(0, 200)}`);
  }
  return { machineId: r.machineId, ipv4: r.ipv4, config: typeof r.config === "string" ? r.config : "" };
}

/** The kind a failed exchange is counted under. */
function exchangeKind(error: Error & { code?: string }): string {
  switch (error.code) {
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return "timeout";
    default:
      return "connection-error";
  }
}

const HEADERS = Object.freeze({ "content-type": "application/json" });

/**
 * One request's handler for undici's dispatch: the lowest-level API, without a stream per response. A class
 * rather than closures keeps the per-request cost to one small object.
 */
class RegistrationHandler implements Dispatcher.DispatchHandler {
  private status = 0;
  private chunks: Buffer[] = [];

  constructor(
    private readonly requireConfig: boolean,
    private readonly resolve: (response: RegisterResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    const text = this.chunks.length === 1 ? this.chunks[0]!.toString("utf8") : Buffer.concat(this.chunks).toString("utf8");
    try {
      this.resolve(checkRegistration(this.status, text, this.requireConfig));
    } catch (error) {
      this.reject(error as Error);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(new HttpOutcomeError(exchangeKind(error), error.message));
  }
}

/** The HTTP API seen as a registration function, plus the pool to close. */
export interface HttpRegistration {
  readonly register: Register;
  /** Waits for requests in flight, then closes the connections. */
  close(): Promise<void>;
  /** Aborts requests in flight and closes the connections at once. */
  destroy(): Promise<void>;
}

/**
 * `POST /v1/register` over a keep-alive pool (undici) of at most `connections` sockets, each request timed out after
 * `timeoutMs` (connect, headers and body alike), each answer checked (see checkRegistration). The body is the
 * request as JSON; nothing else is built per request.
 */
export function httpRegistration(baseUrl: string, settings: HttpClientSettings): HttpRegistration {
  const origin = new URL(baseUrl).origin;
  const path = `${new URL(baseUrl).pathname.replace(/\/+$/, "")}/v1/register`;
  const pool = new Pool(origin, {
    connections: settings.connections,
    pipelining: 1,
    headersTimeout: settings.timeoutMs,
    bodyTimeout: settings.timeoutMs,
    connect: { timeout: settings.timeoutMs },
    keepAliveTimeout: 60_000,
  });
  pool.on("connectionError", () => {});
  const { requireConfig } = settings;
  return {
    register(request: RegisterRequest) {
      return new Promise<RegisterResponse>((resolve, reject) => {
        pool.dispatch(
          { origin, path, method: "POST", headers: HEADERS, body: JSON.stringify(request) },
          new RegistrationHandler(requireConfig, resolve, reject),
        );
      });
    },
    close: () => pool.close(),
    destroy: () => pool.destroy(),
  };
}
