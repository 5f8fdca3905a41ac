import { fnv1a32, nextPowerOfTwo } from "./fnv.js";
import { Mutex, type MutexStats } from "./mutex.js";

export interface ShardStats extends MutexStats {
  readonly shard: number;
}

/**
 * The seed's sharded lock: a power-of-two array of mutexes, a key picks its shard by FNV-1a. Keys that share a
 * shard serialise even when they are unrelated; keys on different shards never wait for each other.
 */
export class ShardedMutex {
  private readonly shards: Mutex[];
  private readonly mask: number;

  constructor(shardCount: number) {
    const count = nextPowerOfTwo(Math.max(1, shardCount));
    this.shards = Array.from({ length: count }, (_, i) => new Mutex(`shard ${i}`));
    this.mask = count - 1;
  }

  get shardCount(): number {
    return this.shards.length;
  }

  shardOf(key: string): number {
    return fnv1a32(key) & this.mask;
  }

  /** The key's shard, acquired: resolves with its release; rejects with LockTimeoutError after `timeoutMs`. */
  acquire(key: string, timeoutMs?: number): Promise<() => void> {
    return this.shards[this.shardOf(key)]!.acquire(timeoutMs, key);
  }

  async runExclusive<T>(key: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    const release = await this.acquire(key, timeoutMs);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Per-shard counters, only for shards that were used. */
  stats(): ShardStats[] {
    return this.shards.map((m, shard) => ({ shard, ...m.stats })).filter((s) => s.acquisitions > 0 || s.timeouts > 0);
  }
}
