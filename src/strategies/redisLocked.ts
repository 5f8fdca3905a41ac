import type { Redis } from "ioredis";
import type { RegisterRequest } from "../core/types.js";
import { LockBatches } from "../locks/lockBatches.js";
import { RedisLock, type RedisLockStats } from "../locks/redisLock.js";
import { createRedisClient, deleteKeys } from "../redis/client.js";
import { newConflictStats, retryOnConflict } from "./retry.js";
import { lockKeyOf, type StrategyDefinition } from "./strategy.js";

/** What distinguishes one Redis-locked strategy from another. */
export interface RedisLockedOptions {
  readonly name: string;
  readonly protects: string;
  readonly exposes: string;
  /** Lock over every --redis URL with a quorum (Redlock), or over the first only. */
  readonly nodes: "one" | "all";
  /** Take a fencing token with the lock and have the store refuse writes with an older one. */
  readonly fencing: boolean;
  /** Run on tables with the unique constraints and retry on conflict. */
  readonly constraints: boolean;
}

/**
 * The Redis-backed strategies share one shape: take the lock, run the seed's registration with the lock's abort
 * signal (and fencing token) so that a lost lock stops the writes, release the lock — a lock found gone at release
 * fails the registration, because another holder may have written meanwhile.
 */
export function redisLocked(options: RedisLockedOptions): StrategyDefinition {
  return {
    name: options.name,
    kind: "exclusion",
    guarantee: "global",
    protects: options.protects,
    exposes: options.exposes,
    backend: { kind: "redis", nodes: options.nodes },
    // A lock on systemUUID leaves the shared IP pool open (see `sharded` on a fleet); `--lock-key system` gives the seed's.
    defaultLockKey: "project",
    constraints: options.constraints,
    create(service, settings) {
      const urls = options.nodes === "all" ? settings.redis.urls : settings.redis.urls.slice(0, 1);
      const clients: Redis[] = urls.map((url) => createRedisClient(url, settings.redis.client));
      // Failures reach the lock through the commands; the client's own error events would only be noise.
      for (const client of clients) client.on("error", () => {});
      const lock = new RedisLock(clients, settings.redis.keyPrefix, { ...settings.redis.lock, fencing: options.fencing }, settings.random);
      const conflicts = newConflictStats();
      // A fencing lock first advances the store's fence, so that the previous holder's late writes are refused
      // even when they land before this holder's own.
      const acquire = async (key: string) => {
        const lease = await lock.acquire(key);
        if (lease.fence === undefined) return lease;
        try {
          await service.store.advanceFence({ resource: key, token: lease.fence });
        } catch (error) {
          await lease.release().catch(() => {});
          throw error;
        }
        return lease;
      };
      const batches = new LockBatches(acquire, settings.redis.lockBatch);
      const lockedOnce = (request: RegisterRequest) => {
        const key = lockKeyOf(request, settings.lockKey);
        return batches.run(key, (lease, written) =>
          service.register(request, {
            signal: lease.signal,
            onWritten: written,
            transaction: options.constraints,
            ...(lease.fence !== undefined ? { fence: { resource: key, token: lease.fence } } : {}),
          }),
        );
      };
      return {
        register: (request) =>
          options.constraints ? retryOnConflict(() => lockedOnce(request), settings.retry, settings.random, conflicts) : lockedOnce(request),
        stats: () => ({
          lockKey: settings.lockKey,
          nodes: clients.length,
          quorum: lock.quorum,
          ...(lock.stats as RedisLockStats),
          lockBatches: batches.stats.batches,
          largestLockBatch: batches.stats.largest,
          ...(options.constraints ? { conflicts: conflicts.conflicts, conflictRetries: conflicts.retries } : {}),
        }),
        async close() {
          await Promise.all(
            clients.map(async (client, i) => {
              // A connection cut by the redis-down fault is replaced by a fresh one for the clean-up.
              const cleaner = client.status === "ready" ? client : createRedisClient(urls[i]!, settings.redis.client);
              cleaner.on("error", () => {});
              await deleteKeys(cleaner, settings.redis.keyPrefix).catch(() => 0);
              cleaner.disconnect();
              client.disconnect();
            }),
          );
        },
        cutRedis() {
          clients[0]?.disconnect();
        },
      };
    },
  };
}
