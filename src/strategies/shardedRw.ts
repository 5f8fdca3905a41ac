import { exclusive } from "../locks/exclusive.js";
import { shardedRwLock } from "../locks/keyedLock.js";
import { ShardedRwMutex } from "../sync/shardedRwMutex.js";
import { lockKeyOf, type StrategyDefinition } from "./strategy.js";

/**
 * The seed's `ShardedRWMutex` (its V4): the lookup of an existing registration — a device re-sending — under the
 * shard's read lock, which readers share; only a device that must be created takes the write lock, and checks again
 * under it. Keyed by the project's pool by default: keyed by systemUUID, as the seed does, two systems of one project
 * would race on the pool exactly as `sharded` does (`--lock-key system` shows it).
 */
export const shardedRw: StrategyDefinition = {
  name: "sharded-rw",
  kind: "exclusion",
  protects: "one project's pool inside one process; re-sends read under a shared lock while creations are exclusive",
  exposes: "creations still queue on the project's write lock; other processes are not excluded",
  guarantee: "process",
  needs: {},
  defaultLockKey: "project",
  constraints: false,
  create(service, settings) {
    const lock = shardedRwLock(new ShardedRwMutex(settings.shards), settings.lockTimeoutMs);
    const sections = exclusive(lock);
    let answeredByRead = 0;
    return {
      async register(r) {
        const key = lockKeyOf(r, settings.lockKey);
        const found = await sections.run(key, () => service.lookup(r), "shared");
        if (found) {
          answeredByRead++;
          return found;
        }
        return sections.run(key, () => service.register(r));
      },
      stats: () => {
        const { shardCount, rwShards } = sections.stats();
        return { shardCount, answeredByRead, rwShards };
      },
      close: () => lock.close(),
    };
  },
};
