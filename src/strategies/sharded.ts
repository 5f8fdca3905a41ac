import { exclusive } from "../locks/exclusive.js";
import { shardedLock } from "../locks/keyedLock.js";
import { ShardedMutex } from "../sync/shardedMutex.js";
import { lockKeyOf, type StrategyDefinition } from "./strategy.js";

/** The seed's "strongly recommended" sharded mutex around the whole registration, keyed by systemUUID. */
export const sharded: StrategyDefinition = {
  name: "sharded",
  kind: "exclusion",
  protects: "one system's registrations, inside one process (with --lock-key project: one project's IP pool)",
  exposes: "keyed by system, two systems of one project race on the IP pool (duplicate IPs); other processes are not excluded",
  guarantee: "per-key",
  needs: {},
  defaultLockKey: "system",
  constraints: false,
  create(service, settings) {
    const lock = shardedLock(new ShardedMutex(settings.shards), settings.lockTimeoutMs);
    const sections = exclusive(lock);
    return {
      register: (r) => sections.run(lockKeyOf(r, settings.lockKey), () => service.register(r)),
      stats: () => sections.stats(),
      close: () => lock.close(),
    };
  },
};
