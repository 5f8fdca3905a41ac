import { Mutex, type MutexStats } from "./mutex.js";
import { holding, Shards } from "./shards.js";

export interface ShardStats extends MutexStats {
  readonly shard: number;
}

/**
 * The seed's sharded lock: a power-of-two array of mutexes, a key picks its shard by FNV-1a. Keys that share a
 * shard serialise even when they are unrelated; keys on different shards never wait for each other.
 */
export class ShardedMutex {
  private readonly shards: Shards<Mutex>;

  constructor(shardCount: number) {
    this.shards = new Shards(shardCount, (i) => new Mutex(`shard ${i}`));
  }

  get shardCount(): number {
    return this.shards.count;
  }

  shardOf(key: string): number {
    return this.shards.indexOf(key);
  }

  /** The key's shard, acquired: resolves with its release; rejects with LockTimeoutError after `timeoutMs`. */
  acquire(key: string, timeoutMs?: number): Promise<() => void> {
    return this.shards.of(key).acquire(timeoutMs, key);
  }

  runExclusive<T>(key: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    return holding(this.acquire(key, timeoutMs), fn);
  }

  /** Per-shard counters, only for shards that were used. */
  stats(): ShardStats[] {
    return this.shards.all.map((m, shard) => ({ shard, ...m.stats })).filter((s) => s.acquisitions > 0 || s.timeouts > 0);
  }
}
