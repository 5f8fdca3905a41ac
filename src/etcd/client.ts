import { createRequire } from "node:module";
import type { Etcd3 } from "etcd3";
import type * as Etcd3Module from "etcd3";
import { listens, notSpeaking, unreachableCode } from "../net/service.js";

// etcd3 (gRPC and its protobufs) is one of the slowest modules to load: loaded by the first client made, not by
// every command and every load-generator thread that imports this file.
const require = createRequire(import.meta.url);

/** How to get an etcd at `url`, said wherever one is missing. */
export function startEtcdHint(url = "http://127.0.0.1:2379"): string {
  return `start one with \`etcd --listen-client-urls ${url} --advertise-client-urls ${url}\` (Debian: apt-get install etcd-server), or pass --etcd auto to let regbench start a throwaway one`;
}

/**
 * A client for the cluster at `urls`; failures surface as the calls' errors, quickly. Credentials in a URL
 * (`http://user:password@host:2379`) become etcd's own authentication: gRPC would read them as part of the host name.
 */
export function createEtcdClient(urls: readonly string[]): Etcd3 {
  let auth: { username: string; password: string } | undefined;
  const hosts = urls.map((text) => {
    try {
      const url = new URL(text);
      if (!url.username && !url.password) return text;
      auth ??= { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
      url.username = "";
      url.password = "";
      return url.toString().replace(/\/$/, "");
    } catch {
      return text;
    }
  });
  const { Etcd3: Client } = require("etcd3") as typeof Etcd3Module;
  return new Client({ hosts, dialTimeout: 2000, ...(auth ? { auth } : {}) });
}

/**
 * Why a service did not answer as etcd: `unreachable` (nothing listens: start one), `not-etcd` (something listens
 * that does not speak etcd's gRPC), or `silent` (something accepted the connection but did not answer in time).
 */
export interface EtcdProblem {
  readonly kind: "unreachable" | "not-etcd" | "silent";
  readonly reason: string;
}

/** The sentence for a probe's problem, with the hint that fits it. */
export function describeEtcdProblem(url: string, problem: EtcdProblem): string {
  if (problem.kind === "not-etcd") return `${notSpeaking(url, "etcd")} (${problem.reason})`;
  if (problem.kind === "silent")
    return `the service at ${url} accepts connections but did not answer as etcd (${problem.reason}): is it etcd, and is it healthy?`;
  return `cannot reach etcd at ${url} (${problem.reason}): ${startEtcdHint(url)}`;
}

/** Whether an etcd answers at `url` within `timeoutMs`: undefined when it does, else the problem. */
export async function probeEtcd(url: string, timeoutMs = 3000): Promise<EtcdProblem | undefined> {
  const client = createEtcdClient([url]);
  let timer: NodeJS.Timeout | undefined;
  let reason: string;
  let timedOut = false;
  try {
    await Promise.race([
      client.maintenance.status(),
      new Promise(
        (_, reject) =>
          (timer = setTimeout(() => {
            timedOut = true;
            reject(new Error(`no answer within ${timeoutMs} ms`));
          }, timeoutMs)),
      ),
    ]);
    return undefined;
  } catch (error) {
    reason = conciseReason((error as Error).message);
  } finally {
    if (timer) clearTimeout(timer);
    client.close();
  }
  if (unreachableCode(reason)) return { kind: "unreachable", reason };
  // gRPC says "Protocol error" or "Failed to connect" when another protocol answers: is anything listening there?
  if (!(await listens(url, 2379))) return { kind: "unreachable", reason };
  return { kind: timedOut ? "silent" : "not-etcd", reason };
}

/** The useful part of a gRPC error: `ECONNREFUSED` rather than the channel's whole story. */
function conciseReason(message: string): string {
  const code = /\b(E[A-Z]{3,}[A-Z_]*)\b/.exec(message);
  if (code) return code[1]!;
  const last = /Last error: ([^(]+?)\s*(\(|$)/.exec(message);
  if (last) return last[1]!;
  return message
    .split("\n")[0]!
    .replace(/\s*Resolution note:\s*$/, "")
    .trim();
}

/** Validates an `--etcd` URL; returns an error message or undefined. */
export function checkEtcdUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== "http:" && url.protocol !== "https:") return `${JSON.stringify(text)} is not an http:// URL`;
    if (!url.hostname || !url.port) return `${JSON.stringify(text)} names no host and port`;
    return undefined;
  } catch {
    return `${JSON.stringify(text)} is not a URL`;
  }
}

/** Deletes every key under `prefix`, so that a run or a test cleans up only what it made. */
export async function deleteEtcdKeys(client: Etcd3, prefix: string): Promise<void> {
  await client.delete().prefix(prefix).exec();
}
