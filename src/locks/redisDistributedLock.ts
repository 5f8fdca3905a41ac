import type { Redis } from "ioredis";
import { createRedisClient, deleteKeys, type RedisClientSettings } from "../redis/client.js";
import type { DistributedLock } from "./lease.js";
import { RedisLock, type RedisLockSettings } from "./redisLock.js";

/**
 * A Redis lock over its own clients (one per node), as the strategies use it: the lock, its counters, the
 * redis-down fault (the first node's connection closed) and the clean-up of every key under its prefix — unless
 * `cleanUp` is false: a lock namespace that other servers share keeps its keys (locks expire with their TTL; fence
 * counters must outlive any one server, or a restarted one would hand out tokens below those the store has seen).
 */
export function redisDistributedLock(
  urls: readonly string[],
  keyPrefix: string,
  settings: RedisLockSettings,
  client: RedisClientSettings,
  random: () => number,
  cleanUp = true,
): DistributedLock {
  const clients: Redis[] = urls.map((url) => createRedisClient(url, client));
  // Failures reach the lock through the commands; the clients' own error events would only be noise.
  for (const c of clients) c.on("error", () => {});
  const lock = new RedisLock(clients, keyPrefix, settings, random);
  return {
    acquire: (key) => lock.acquire(key),
    reenter: (held) => lock.reenter(held),
    reentrant: settings.reentrant,
    quorum: lock.quorum,
    nodes: clients.length,
    stats: () => ({ ...lock.stats }),
    cut: () => clients[0]?.disconnect(),
    async close() {
      await Promise.all(
        clients.map(async (c, i) => {
          // A connection cut by the redis-down fault is replaced by a fresh one for the clean-up.
          const cleaner = c.status === "ready" ? c : createRedisClient(urls[i]!, client);
          cleaner.on("error", () => {});
          if (cleanUp) await deleteKeys(cleaner, keyPrefix).catch(() => 0);
          cleaner.disconnect();
          c.disconnect();
        }),
      );
    },
  };
}
