import { probeRedis, startRedisHint } from "../redis/client.js";
import { redisServerOnPath, startThrowawayRedis, type ThrowawayRedis } from "../redis/autoServer.js";
import { findStrategy } from "../strategies/registry.js";
import { DEFAULT_STRATEGY_SETTINGS } from "../strategies/strategy.js";
import type { RunConfig } from "../workload/config.js";

/** What the pre-flight decided: the config with concrete Redis URLs, what was skipped and why, what to stop after. */
export interface RedisPreflight {
  readonly config: RunConfig;
  readonly skipped: readonly { readonly strategy: string; readonly reason: string }[];
  readonly notes: readonly string[];
  /** Set when a strategy that was asked for by name cannot run. */
  readonly unavailable?: { readonly strategy: string; readonly message: string };
  stop(): Promise<void>;
}

/** Redlock wants independent nodes; this many are started by `--redis auto`. */
const AUTO_REDLOCK_NODES = 3;

/**
 * Makes sure the Redis strategies of a run have a Redis before any of them starts, within a few seconds: probes
 * every URL, starts throwaway servers for `--redis auto`, and either skips the Redis strategies (when they came
 * from `--strategy all`) or reports the first that cannot run.
 */
export async function prepareRedis(config: RunConfig): Promise<RedisPreflight> {
  const needing = config.strategies.filter((name) => findStrategy(name)?.backend.kind === "redis");
  const none = { config, skipped: [], notes: [], stop: async () => {} };
  if (needing.length === 0) return none;
  const needAll = needing.some((name) => {
    const backend = findStrategy(name)!.backend;
    return backend.kind === "redis" && backend.nodes === "all";
  });
  const notes: string[] = [];
  const servers: ThrowawayRedis[] = [];
  let urls: readonly string[] | undefined;
  let problem: string | undefined;

  if (config.redis.urls === "auto") {
    const url = DEFAULT_STRATEGY_SETTINGS.redis.urls[0]!;
    const down = await probeRedis(url);
    if (!down && !needAll) {
      urls = [url];
      notes.push(`--redis auto: using the Redis that answers on ${url}`);
    } else if (redisServerOnPath()) {
      const count = needAll ? AUTO_REDLOCK_NODES : 1;
      for (let i = 0; i < count; i++) servers.push(await startThrowawayRedis());
      urls = servers.map((s) => s.url);
      notes.push(`--redis auto: started ${count} throwaway redis-server on ${urls.join(", ")}; stopped after the run`);
    } else if (!down) {
      urls = [url];
    } else {
      problem = `nothing answers on ${url} (${down}) and there is no redis-server on the PATH to start: ${startRedisHint(url)}`;
    }
  } else {
    const probes = await Promise.all(config.redis.urls.map(async (url) => ({ url, down: await probeRedis(url) })));
    const failed = probes.filter((p) => p.down !== undefined);
    if (failed.length > 0) {
      problem = `cannot reach Redis at ${failed.map((f) => `${f.url} (${f.down})`).join(", ")}: ${startRedisHint(failed[0]!.url)}`;
    } else {
      urls = config.redis.urls;
    }
  }

  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  if (problem !== undefined || urls === undefined) {
    const message = problem ?? "no Redis";
    if (config.selection === "all") {
      return {
        config: { ...config, strategies: config.strategies.filter((s) => !needing.includes(s)) },
        skipped: needing.map((strategy) => ({ strategy, reason: message })),
        notes: [`skipped ${needing.join(", ")}: ${message}`],
        stop,
      };
    }
    return { config, skipped: [], notes, unavailable: { strategy: needing[0]!, message }, stop };
  }
  if (needing.includes("redlock") && urls.length < 3) {
    notes.push(`redlock runs over ${urls.length} node(s), quorum ${Math.floor(urls.length / 2) + 1}: pass three --redis URLs (or --redis auto) for a real quorum`);
  }
  return { config: { ...config, redis: { ...config.redis, urls } }, skipped: [], notes, stop };
}
