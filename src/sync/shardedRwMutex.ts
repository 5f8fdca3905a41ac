import { RwMutex, type RwMutexStats } from "./rwMutex.js";
import { holding, Shards } from "./shards.js";

export interface RwShardStats extends RwMutexStats {
  readonly shard: number;
}

/**
 * The seed's `ShardedRWMutex`: a power-of-two array of read-write mutexes, a key picks its shard by FNV-1a; `RLock`
 * for reads, `Lock` for writes, both with a timeout, counters per shard.
 */
export class ShardedRwMutex {
  private readonly shards: Shards<RwMutex>;

  constructor(shardCount: number) {
    this.shards = new Shards(shardCount, () => new RwMutex());
  }

  get shardCount(): number {
    return this.shards.count;
  }

  shardOf(key: string): number {
    return this.shards.indexOf(key);
  }

  /** The key's shard, shared (RLock): resolves with its release. */
  readLock(key: string, timeoutMs?: number): Promise<() => void> {
    return this.shards.of(key).readLock(timeoutMs, key);
  }

  /** The key's shard, exclusive (Lock): resolves with its release. */
  writeLock(key: string, timeoutMs?: number): Promise<() => void> {
    return this.shards.of(key).writeLock(timeoutMs, key);
  }

  withRead<T>(key: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    return holding(this.readLock(key, timeoutMs), fn);
  }

  withWrite<T>(key: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    return holding(this.writeLock(key, timeoutMs), fn);
  }

  /** Per-shard counters, only for shards that were used. */
  stats(): RwShardStats[] {
    return this.shards.all.map((m, shard) => ({ shard, ...m.stats })).filter((s) => s.readAcquisitions + s.writeAcquisitions + s.timeouts > 0);
  }
}
