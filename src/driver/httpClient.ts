import { Agent, request as httpRequest } from "node:http";
import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import type { Strategy } from "../strategies/strategy.js";

/** A non-200 answer or a failed exchange, with the kind the report counts it under. */
export class HttpOutcomeError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

/**
 * The HTTP API seen as a strategy: `register` POSTs one request over a keep-alive pool of at most `connections`
 * sockets. The open loop drives it, because autocannon's rate limit releases each second's quota in a burst at the
 * start of the second: an arrival process needs each request sent at its own time.
 */
export function httpClientStrategy(baseUrl: string, connections: number, timeoutMs = 30_000): Strategy {
  const url = new URL("/v1/register", baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  return {
    register(request: RegisterRequest) {
      const body = JSON.stringify(request);
      return new Promise<RegisterResponse>((resolve, reject) => {
        const req = httpRequest(
          url,
          { method: "POST", agent, timeout: timeoutMs, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              let parsed: Record<string, unknown> | undefined;
              try {
                parsed = JSON.parse(text) as Record<string, unknown>;
              } catch {
                parsed = undefined;
              }
              if (res.statusCode === 200 && parsed) return resolve(parsed as unknown as RegisterResponse);
              const kind = typeof parsed?.error === "string" ? parsed.error : res.statusCode === 200 ? "malformed-response" : `http-${res.statusCode}`;
              reject(new HttpOutcomeError(kind, `${res.statusCode}: ${text.slice(0, 200)}`));
            });
          },
        );
        req.on("timeout", () => req.destroy(new HttpOutcomeError("timeout", "request timed out")));
        req.on("error", (error) => reject(error instanceof HttpOutcomeError ? error : new HttpOutcomeError("connection-error", error.message)));
        req.end(body);
      });
    },
    stats: () => ({}),
    close: async () => agent.destroy(),
  };
}
