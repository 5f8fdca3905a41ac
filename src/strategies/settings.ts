import type { RunConfig } from "../config/run.js";
import { mulberry32 } from "../workload/prng.js";
import { DEFAULT_STRATEGY_SETTINGS, type StrategyDefinition, type StrategySettings } from "./strategy.js";

/**
 * The settings one strategy runs with under a run's config. Redis and etcd keys go under the run's own prefix, or,
 * given a lock namespace (`regbench serve`), under that namespace, which every server on one store shares.
 */
export function strategySettingsFrom(config: RunConfig, definition: StrategyDefinition, runPrefix: string, lockNamespace?: string): StrategySettings {
  const urls = config.redis.urls === "auto" ? DEFAULT_STRATEGY_SETTINGS.redis.urls : config.redis.urls;
  return {
    ...DEFAULT_STRATEGY_SETTINGS,
    lockKey: config.strategy.lockKey ?? definition.defaultLockKey,
    lockTimeoutMs: config.strategy.lockTimeoutMs,
    shards: config.strategy.shards,
    retry: { ...DEFAULT_STRATEGY_SETTINGS.retry, maxAttempts: config.strategy.retries },
    random: mulberry32(config.workload.seed ^ 0x5eed),
    redis: {
      ...DEFAULT_STRATEGY_SETTINGS.redis,
      urls,
      keyPrefix: lockNamespace === undefined ? redisKeyPrefix(runPrefix) : `regbench:ns:${lockNamespace}:`,
      lock: { ...DEFAULT_STRATEGY_SETTINGS.redis.lock, ttlMs: config.redis.ttlMs, waitMs: config.redis.waitMs, watchdog: config.redis.watchdog },
      lockBatch: config.redis.lockBatch,
      // A Redis the run restarts comes back: its clients reconnect to it (see RedisClientSettings).
      ...((config.nemeses ?? []).some((n) => n.kind === "restart-redis")
        ? { client: { ...DEFAULT_STRATEGY_SETTINGS.redis.client, reconnectAttempts: 40 } }
        : {}),
    },
    etcd: {
      urls: config.etcd.urls === "auto" ? DEFAULT_STRATEGY_SETTINGS.etcd.urls : config.etcd.urls,
      keyPrefix: lockNamespace === undefined ? etcdKeyPrefix(runPrefix) : `regbench/ns/${lockNamespace}/`,
    },
    lockNesting: config.strategy.lockNesting,
    sharedLockKeys: lockNamespace !== undefined,
  };
}

/** Every etcd key of a run starts with this. */
export function etcdKeyPrefix(runPrefix: string): string {
  return `regbench/${runPrefix}/`;
}

/** Every Redis key of a run starts with this, so the run (or whoever cleans up after it) deletes only its own. */
export function redisKeyPrefix(runPrefix: string): string {
  return `regbench:${runPrefix}:`;
}
