import { fnv1a32, nextPowerOfTwo } from "./fnv.js";
import { RwMutex, type RwMutexStats } from "./rwMutex.js";

export interface RwShardStats extends RwMutexStats {
  readonly shard: number;
}

/**
 * The seed's `ShardedRWMutex`: a power-of-two array of read-write mutexes, a key picks its shard by FNV-1a; `RLock`
 * for reads, `Lock` for writes, both with a timeout, counters per shard.
 */
export class ShardedRwMutex {
  private readonly shards: RwMutex[];
  private readonly mask: number;

  constructor(shardCount: number) {
    const count = nextPowerOfTwo(Math.max(1, shardCount));
    this.shards = Array.from({ length: count }, () => new RwMutex());
    this.mask = count - 1;
  }

  get shardCount(): number {
    return this.shards.length;
  }

  shardOf(key: string): number {
    return fnv1a32(key) & this.mask;
  }

  /** The key's shard, shared (RLock): resolves with its release. */
  readLock(key: string, timeoutMs?: number): Promise<() => void> {
    return this.shards[this.shardOf(key)]!.readLock(timeoutMs, key);
  }

  /** The key's shard, exclusive (Lock): resolves with its release. */
  writeLock(key: string, timeoutMs?: number): Promise<() => void> {
    return this.shards[this.shardOf(key)]!.writeLock(timeoutMs, key);
  }

  async withRead<T>(key: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    const release = await this.readLock(key, timeoutMs);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  async withWrite<T>(key: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    const release = await this.writeLock(key, timeoutMs);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Per-shard counters, only for shards that were used. */
  stats(): RwShardStats[] {
    return this.shards.map((m, shard) => ({ shard, ...m.stats })).filter((s) => s.readAcquisitions + s.writeAcquisitions + s.timeouts > 0);
  }
}
