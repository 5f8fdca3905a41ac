import { createRequire } from "node:module";
import type { Dispatcher } from "undici";
import type * as Undici from "undici";
import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import type { Register, Send } from "./loops.js";
import { compileProfile, type CompiledProfile } from "./profile/compile.js";
import { regbenchProfile } from "./profile/spec.js";

// undici serves https:// targets only (http:// has the hand-written client): loaded when a pool is first made, not
// by every load-generator thread at start-up.
const require = createRequire(import.meta.url);

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

let builtin: CompiledProfile | undefined;

/**
 * An answer of regbench's own API read as the built-in profile (`profiles/regbench.yaml`) reads it: a 200 counts
 * only if its body is a JSON object with a string `machineId`, a dotted-quad `ipv4` and, when the configs are to
 * be opened, a string `config`. Anything else is `malformed-response`, never a crash; a failure is counted under
 * the body's `error` when it is one of the kinds regbench's server answers (the profile lists them), else
 * `http-<status>`.
 */
export function checkRegistration(status: number, text: string, requireConfig: boolean): RegisterResponse {
  builtin ??= compileProfile(regbenchProfile(), "http://127.0.0.1/", "");
  return builtin.read(status, text, undefined, "", requireConfig);
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

/**
 * One request's handler for undici's dispatch: the lowest-level API, without a stream per response. A class
 * rather than closures keeps the per-request cost to one small object.
 */
class RegistrationHandler implements Dispatcher.DispatchHandler {
  private status = 0;
  private head: string | undefined;
  private chunks: Buffer[] = [];

  constructor(
    private readonly requireConfig: boolean,
    private readonly profile: CompiledProfile,
    private readonly machineId: string,
    private readonly resolve: (response: RegisterResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    // The profile reads a header: give it a head as the raw client sees one.
    if (this.profile.needsHead)
      this.head = `HTTP/1.1 ${statusCode}\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : (v ?? "")}`)
        .join("\r\n")}`;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    const text = this.chunks.length === 1 ? this.chunks[0]!.toString("utf8") : Buffer.concat(this.chunks).toString("utf8");
    try {
      this.resolve(this.profile.read(this.status, text, this.head, this.machineId, this.requireConfig));
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
  /** The same in callback form, when the client has one (the loops then use it: no promise per request). */
  readonly send?: Send;
  /** Waits for requests in flight, then closes the connections. */
  close(): Promise<void>;
  /** Aborts requests in flight and closes the connections at once. */
  destroy(): Promise<void>;
}

/**
 * A registration as the profile renders it (regbench's own `POST /v1/register` by default) over a keep-alive pool
 * (undici) of at most `connections` sockets, each request timed out after `timeoutMs` (connect, headers and body
 * alike), each answer read by the profile. Nothing is built per request but the profile's rendering.
 */
export function httpRegistration(
  baseUrl: string,
  settings: HttpClientSettings,
  profile: CompiledProfile = compileProfile(regbenchProfile(), baseUrl, ""),
): HttpRegistration {
  const origin = new URL(baseUrl).origin;
  const { Pool } = require("undici") as typeof Undici;
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
          {
            origin,
            path: profile.path(request),
            method: profile.method as Dispatcher.HttpMethod,
            headers: profile.headers(request),
            body: profile.body?.(request) ?? null,
          },
          new RegistrationHandler(requireConfig, profile, request.machineId, resolve, reject),
        );
      });
    },
    close: () => pool.close(),
    destroy: () => pool.destroy(),
  };
}
