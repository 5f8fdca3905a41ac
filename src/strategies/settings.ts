import { lockServices } from "../locks/services/registry.js";
import { locationOf, type LockServiceSettings } from "../locks/services/service.js";
import type { RunConfig } from "../config/run.js";
import { mulberry32 } from "../workload/prng.js";
import { DEFAULT_STRATEGY_SETTINGS, type StrategyDefinition, type StrategySettings } from "./strategy.js";

/**
 * The settings one strategy runs with under a run's config. Every lock service's keys go under the run's own prefix,
 * or, given a lock namespace (`regbench serve`), under that namespace, which every server on one store shares.
 */
export function strategySettingsFrom(config: RunConfig, definition: StrategyDefinition, runPrefix: string, lockNamespace?: string): StrategySettings {
  const services: Record<string, LockServiceSettings> = {};
  for (const service of lockServices()) {
    const { urls } = locationOf(config.lockServices, service);
    services[service.name] = {
      urls: urls === "auto" ? service.defaultUrls : urls,
      keyPrefix: lockNamespace === undefined ? service.keyPrefix(runPrefix) : service.namespacePrefix(lockNamespace),
      // A service the run restarts (restart:redis) comes back: its clients reconnect to it.
      restarted: (config.nemeses ?? []).some((n) => n.kind === `restart-${service.name}`),
    };
  }
  return {
    ...DEFAULT_STRATEGY_SETTINGS,
    lockKey: config.strategy.lockKey ?? definition.defaultLockKey,
    lockTimeoutMs: config.strategy.lockTimeoutMs,
    shards: config.strategy.shards,
    retry: { ...DEFAULT_STRATEGY_SETTINGS.retry, maxAttempts: config.strategy.retries },
    random: mulberry32(config.workload.seed ^ 0x5eed),
    locks: config.locks,
    lockServices: services,
    lockNesting: config.strategy.lockNesting,
    sharedLockKeys: lockNamespace !== undefined,
  };
}
