import { createRequire } from "node:module";
import type { Redis } from "ioredis";
import type * as IoRedis from "ioredis";
import { listens, notSpeaking, unreachableCode } from "../net/service.js";

// ioredis is loaded by the first client made, not by every command that imports this file (start-up time).
const require = createRequire(import.meta.url);
const ioredis = () => require("ioredis") as typeof IoRedis;

/** How to get a Redis at `url`, said wherever one is missing. */
export function startRedisHint(url = "redis://127.0.0.1:6379"): string {
  let port = "6379";
  try {
    port = new URL(url).port || "6379";
  } catch {
    // keep the default port
  }
  return `start one with \`redis-server --port ${port} --save "" --appendonly no\`, or pass --redis auto to let regbench start a throwaway one (needs redis-server on the PATH)`;
}

export interface RedisClientSettings {
  /** A single command's time limit: a node slower than this counts as failed for that command. */
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /**
   * Reconnection attempts before the client gives up on a node: 3 (about 0.3 s) by default, so that a node that is
   * gone stays gone; 40 (about 10 s) when the run restarts its Redis (restart:redis), which is back within a second.
   */
  readonly reconnectAttempts: number;
}

export const DEFAULT_REDIS_CLIENT_SETTINGS: RedisClientSettings = Object.freeze({ commandTimeoutMs: 1000, connectTimeoutMs: 2000, reconnectAttempts: 3 });

/**
 * A client for one node. Auto-pipelining batches the commands of one event-loop turn into one write, which is what
 * lets a thousand concurrent registrations share a connection. It does not reconnect for ever: a node that is
 * gone makes commands fail quickly, as a registration should see it.
 */
export function createRedisClient(url: string, settings: RedisClientSettings = DEFAULT_REDIS_CLIENT_SETTINGS): Redis {
  return new (ioredis().Redis)(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout: settings.connectTimeoutMs,
    commandTimeout: settings.commandTimeoutMs,
    // Commands never wait for a reconnection: each fails after one attempt. The client itself gives up after
    // `reconnectAttempts` attempts, 50 ms apart more each time, at most 250 ms.
    retryStrategy: (times) => (times > settings.reconnectAttempts ? null : Math.min(50 * times, 250)),
  });
}

/**
 * Why a service did not answer as Redis: `unreachable` (nothing listens: start one), `not-redis` (another protocol
 * answers there), or `refused` (Redis answered and refused, its own message in `reason`).
 */
export interface RedisProblem {
  readonly kind: "unreachable" | "not-redis" | "refused";
  readonly reason: string;
}

/** The sentence for a probe's problem: what happened and what to do, never ioredis's own parser messages. */
export function describeRedisProblem(url: string, problem: RedisProblem): string {
  const shown = safeRedisUrl(url);
  if (problem.kind === "not-redis") return `${notSpeaking(shown, "Redis")} (${problem.reason})`;
  if (problem.kind === "refused") {
    const auth = /^(NOAUTH|WRONGPASS)/.test(problem.reason);
    return `Redis at ${shown} refused the connection: ${problem.reason}${auth ? ". Put its password in the URL (redis://:PASSWORD@HOST:PORT), or its user and password (redis://USER:PASSWORD@HOST:PORT)" : ""}`;
  }
  return `cannot reach Redis at ${shown} (${problem.reason}): ${startRedisHint(url)}`;
}

/** A Redis URL with its password hidden. */
function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}

/** Pings a node; resolves undefined when it answers, else the reason. Never takes longer than `timeoutMs`. */
export async function probeRedis(url: string, timeoutMs = 2000): Promise<RedisProblem | undefined> {
  const reason = await pingRedis(url, timeoutMs);
  if (reason === undefined) return undefined;
  if (reason.reply) return { kind: "refused", reason: reason.text };
  if (unreachableCode(reason.text)) return { kind: "unreachable", reason: reason.text };
  // The connection failed after it opened, or never completed the handshake: is anything listening there?
  return (await listens(url, 6379)) ? { kind: "not-redis", reason: reason.text } : { kind: "unreachable", reason: reason.text };
}

/** One PING: undefined when Redis answers; else the error's code (or a short message), and whether Redis replied it. */
async function pingRedis(url: string, timeoutMs: number): Promise<{ text: string; reply: boolean } | undefined> {
  const client = new (ioredis().Redis)(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let first: { code?: string; message?: string; name?: string } | undefined;
  client.on("error", (error: { code?: string; message?: string }) => {
    first ??= error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      client.once("error", reject);
    });
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
    return undefined;
  } catch (error) {
    const e = first ?? (error as { code?: string; message?: string; name?: string });
    // A ReplyError is Redis's own answer (NOAUTH, WRONGPASS, max clients); a parser's error is another protocol's bytes.
    if (e.name === "ReplyError") return { text: String(e.message), reply: true };
    if (/Protocol error|Please report this/i.test(String(e.message))) return { text: "a reply that is not RESP", reply: false };
    return { text: e.code ?? String(e.message ?? error), reply: false };
  } finally {
    if (timer) clearTimeout(timer);
    client.disconnect();
  }
}

/** Deletes every key under `prefix` (SCAN, never KEYS), so a run or a test cleans up only what it made. */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(keys);
  } while (cursor !== "0");
  return deleted;
}

/** Validates a `--redis` URL; returns an error message or undefined. */
export function checkRedisUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") return `${JSON.stringify(text)} is not a redis:// URL`;
    if (!url.hostname) return `${JSON.stringify(text)} names no host`;
    return undefined;
  } catch {
    return `${JSON.stringify(text)} is not a URL`;
  }
}
