import { exclusive } from "../locks/exclusive.js";
import { shardedLock } from "../locks/keyedLock.js";
import { ShardedMutex } from "../sync/shardedMutex.js";
import { newConflictStats, retryOnConflict } from "./retry.js";
import { lockKeyOf, type StrategyDefinition } from "./strategy.js";

/**
 * The seed's recommendation for several instances: the sharded lock for contention inside a process, the unique
 * constraints for correctness across processes. Conflicts retry outside the lock, so nobody sleeps holding it.
 */
export const shardedDb: StrategyDefinition = {
  name: "sharded-db",
  kind: "exclusion",
  protects: "every invariant, across processes (constraints), with less contention inside one (sharded lock)",
  exposes: "a lock held across every store round trip; conflicts between systems of one project still retry",
  guarantee: "global",
  needs: {},
  defaultLockKey: "system",
  constraints: true,
  create(service, settings) {
    const lock = shardedLock(new ShardedMutex(settings.shards), settings.lockTimeoutMs);
    const sections = exclusive(lock);
    const stats = newConflictStats();
    return {
      register: (r) =>
        retryOnConflict(
          () => sections.run(lockKeyOf(r, settings.lockKey), () => service.register(r, { transaction: true })),
          settings.retry,
          settings.random,
          stats,
        ),
      stats: () => ({ ...stats, ...sections.stats() }),
      close: () => lock.close(),
    };
  },
};
