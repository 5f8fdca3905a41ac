import { interfaceIpv4 } from "../../audit/configAddress.js";
import { open } from "../../core/crypto.js";
import type { RegisterRequest } from "../../core/types.js";
import { DEFAULT_WORKLOAD } from "../../config/run.js";
import { Workload } from "../../workload/generator.js";
import { compileProfile } from "./compile.js";
import type { ProfileSpec } from "./spec.js";

/** One registration as `regbench profile check` sent it and read it back, for a person writing a profile. */
export interface ProfileCheck {
  readonly request: {
    readonly method: string;
    readonly url: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string | undefined;
    /** The registration's fields, as the placeholders saw them. */
    readonly fields: RegisterRequest & { readonly run: string };
  };
  /** Undefined when no answer came (the reason is in `failure`). */
  readonly answer?: { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string; readonly ms: number };
  /** What the profile read from the answer. */
  readonly extracted: {
    readonly outcome: "acknowledged" | "failed";
    /** The error kind a failure is counted under (`malformed-response`, `conflict`, `http-500`…). */
    readonly kind?: string;
    readonly message?: string;
    readonly id?: string;
    readonly address?: string;
    readonly machineId?: string;
    /** The config check: what the config said, and whether it agrees with the address. */
    readonly config?: { readonly check: string; readonly address: string | undefined; readonly agrees: boolean | undefined };
  };
  /** The exchange failed (refused connection, timeout). */
  readonly failure?: string;
}

/**
 * Sends ONE registration to `target` as `spec` renders it and reads the answer as `spec` reads it, keeping every
 * step. The project key is replaced by `***` in what is returned (the request as sent carried the real one).
 */
export async function checkProfile(
  spec: ProfileSpec,
  target: string,
  project: { readonly id: string; readonly key: string },
  options: { readonly serverKey?: Buffer; readonly timeoutMs: number },
): Promise<ProfileCheck> {
  const workload = new Workload({ ...DEFAULT_WORKLOAD, requests: 1, seed: Math.floor(Math.random() * 2 ** 31) }, undefined, [project]);
  const fields = workload.request(0);
  const profile = compileProfile(spec, target, workload.prefix);
  const url = `${new URL(target).origin}${profile.path(fields)}`;
  const headers = profile.headers(fields);
  const body = profile.body?.(fields);
  const mask = (s: string) => (fields.key.length > 0 ? s.split(fields.key).join("***") : s);
  const shown = {
    method: profile.method,
    url: mask(url),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, mask(v)])),
    body: body === undefined ? undefined : mask(body),
    fields: { ...fields, key: "***", run: workload.prefix },
  };
  const started = performance.now();
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: profile.method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(options.timeoutMs) });
    text = await res.text();
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return {
      request: shown,
      extracted: { outcome: "failed", kind: "connection-error" },
      failure: e.name === "TimeoutError" ? `no answer within ${options.timeoutMs} ms` : (e.cause?.code ?? e.message),
    };
  }
  const ms = performance.now() - started;
  const answerHeaders = Object.fromEntries(res.headers.entries());
  const head = `HTTP/1.1 ${res.status}\r\n${Object.entries(answerHeaders)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n")}`;
  const read = profile.explain(res.status, text, head, fields.machineId, options.serverKey !== undefined);
  const answer = { status: res.status, headers: answerHeaders, body: text, ms };
  if (read.error) {
    return {
      request: shown,
      answer,
      extracted: {
        outcome: "failed",
        kind: read.error.kind,
        message: read.error.message,
        ...(read.extracted.id !== undefined ? { id: read.extracted.id } : {}),
        ...(read.extracted.address !== undefined ? { address: read.extracted.address } : {}),
      },
    };
  }
  const r = read.response!;
  let config: { check: string; address: string | undefined; agrees: boolean | undefined } | undefined;
  if (spec.config.check === "plain") config = { check: "plain", address: read.extracted.configAddress, agrees: r.configAgrees };
  else if (spec.config.check === "sealed") {
    const opened = options.serverKey && r.config ? open(r.config, options.serverKey) : undefined;
    const address = opened === undefined ? undefined : interfaceIpv4(opened);
    config = { check: "sealed", address, agrees: options.serverKey ? address === r.ipv4 : undefined };
  }
  return {
    request: shown,
    answer,
    extracted: {
      outcome: "acknowledged",
      ...(read.extracted.id !== undefined ? { id: read.extracted.id } : {}),
      address: r.ipv4,
      machineId: r.machineId,
      ...(config ? { config } : {}),
    },
  };
}
