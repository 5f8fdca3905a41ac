import { fnv1a32, nextPowerOfTwo } from "./fnv.js";

/**
 * The seed's sharding: a power-of-two array of locks, a key picks its shard by FNV-1a. Shared by the sharded mutex
 * and the sharded read-write mutex.
 */
export class Shards<T> {
  readonly all: readonly T[];
  private readonly mask: number;

  constructor(shardCount: number, make: (index: number) => T) {
    const count = nextPowerOfTwo(Math.max(1, shardCount));
    this.all = Array.from({ length: count }, (_, i) => make(i));
    this.mask = count - 1;
  }

  get count(): number {
    return this.all.length;
  }

  indexOf(key: string): number {
    return fnv1a32(key) & this.mask;
  }

  of(key: string): T {
    return this.all[this.indexOf(key)]!;
  }
}

/** Runs `fn` holding what `acquire` gave, and releases it however `fn` ends. */
export async function holding<T>(acquire: Promise<() => void>, fn: () => Promise<T>): Promise<T> {
  const release = await acquire;
  try {
    return await fn();
  } finally {
    release();
  }
}
