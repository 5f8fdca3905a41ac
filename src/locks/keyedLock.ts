import type { Mutex } from "../sync/mutex.js";
import type { ShardedMutex } from "../sync/shardedMutex.js";
import type { ShardedRwMutex } from "../sync/shardedRwMutex.js";
import type { DistributedLock, Lease } from "./lease.js";

/**
 * Every lock regbench has, behind one keyed shape: acquire a key (shared or exclusive), get a Lease, release it. The
 * in-process mutexes (global, sharded, sharded read-write) and the distributed locks (Redis, a Redis quorum,
 * reentrant Redis, etcd) are all held to one contract suite through it, and every locking strategy takes its lock
 * through it (`exclusive`), so that the suite tests what production runs.
 */
export interface KeyedLock {
  /** Exclusive unless `shared` (read-write locks only: readers share, a writer holds alone). */
  acquire(key: string, mode?: "exclusive" | "shared"): Promise<Lease>;
  /** Takes a held lock again for its holder; reentrant locks grant it, the others wait for themselves. */
  reenter(held: Lease): Promise<Lease>;
  /** What the lock promises beyond mutual exclusion. */
  readonly promises: {
    /** Readers share it. */
    readonly shared: boolean;
    /** Its holder may take it again. */
    readonly reentrant: boolean;
    /** It can be lost while held (it lives in another service, with a time to live); the signal then fires. */
    readonly expires: boolean;
    /** Different keys never wait for each other (a global lock does not keep that promise). */
    readonly keyed: boolean;
  };
  /** What the lock counted about itself (acquisitions, contention, timeouts, extensions…), as its strategy reports it. */
  stats(): Readonly<Record<string, unknown>>;
  /** Cuts the connection to the service the lock lives in (the redis-down and etcd-down faults); absent in-process. */
  cut?(): void;
  /** Disconnects, and deletes what the lock left in its service under its prefix; nothing to do in-process. */
  close(): Promise<void>;
}

// An in-process lock is never lost: one signal that never fires serves every hold (no controller per acquisition).
const NEVER_LOST = new AbortController().signal;
const DONE = Promise.resolve();

/** An in-process hold as a Lease: never lost, released once. */
function localLease(key: string, release: () => void): Lease {
  let released = false;
  return {
    key,
    token: "local",
    fence: undefined,
    signal: NEVER_LOST,
    validUntil: () => Infinity,
    release: () => {
      if (!released) {
        released = true;
        release();
      }
      return DONE;
    },
  };
}

const LOCAL = { shared: false, reentrant: false, expires: false };
const closeNothing = () => DONE;

/** The process-wide mutex of `global`: one lock whatever the key. */
export function globalLock(mutex: Mutex, timeoutMs: number): KeyedLock {
  return {
    acquire: async (key) => localLease(key, await mutex.acquire(timeoutMs, key)),
    reenter: async (held) => localLease(held.key, await mutex.acquire(timeoutMs, held.key)),
    promises: { ...LOCAL, keyed: false },
    stats: () => ({ lock: { ...mutex.stats } }),
    close: closeNothing,
  };
}

/** The sharded mutex of `sharded` and `sharded-db`: keys on one shard share a mutex. */
export function shardedLock(mutex: ShardedMutex, timeoutMs: number): KeyedLock {
  const acquire = async (key: string) => localLease(key, await mutex.acquire(key, timeoutMs));
  return {
    acquire,
    reenter: (held) => acquire(held.key),
    promises: { ...LOCAL, keyed: true },
    stats: () => ({ shardCount: mutex.shardCount, shards: mutex.stats() }),
    close: closeNothing,
  };
}

/** The seed's sharded read-write mutex of `sharded-rw`. */
export function shardedRwLock(mutex: ShardedRwMutex, timeoutMs: number): KeyedLock {
  const acquire = async (key: string, mode: "exclusive" | "shared" = "exclusive") =>
    localLease(key, await (mode === "shared" ? mutex.readLock(key, timeoutMs) : mutex.writeLock(key, timeoutMs)));
  return {
    acquire,
    reenter: (held) => acquire(held.key),
    promises: { ...LOCAL, shared: true, keyed: true },
    stats: () => ({ shardCount: mutex.shardCount, rwShards: mutex.stats() }),
    close: closeNothing,
  };
}

/** A distributed lock (Redis, a quorum, reentrant Redis, etcd) in the keyed shape; its stats lead with its nodes and quorum. */
export function distributedKeyedLock(lock: DistributedLock): KeyedLock {
  return {
    acquire: (key) => lock.acquire(key),
    reenter: (held) => lock.reenter(held),
    promises: { shared: false, reentrant: lock.reentrant, expires: true, keyed: true },
    stats: () => ({ nodes: lock.nodes, quorum: lock.quorum, ...lock.stats() }),
    cut: () => lock.cut(),
    close: () => lock.close(),
  };
}

/**
 * The lock with a fencing step after each acquisition that hands out a fencing token (`advance`: the store's fence
 * moved to it, so that the previous holder's late writes are refused even when they land before this holder's own).
 * When the step fails the lock is released and the acquisition fails with the step's error. Re-entering takes no new
 * token, so it is not fenced again.
 */
export function fencedLock(lock: KeyedLock, advance: (key: string, token: number) => Promise<void>): KeyedLock {
  return {
    async acquire(key, mode) {
      const lease = await lock.acquire(key, mode);
      if (lease.fence === undefined) return lease;
      try {
        await advance(key, lease.fence);
      } catch (error) {
        await lease.release().catch(() => {});
        throw error;
      }
      return lease;
    },
    reenter: (held) => lock.reenter(held),
    promises: lock.promises,
    stats: () => lock.stats(),
    ...(lock.cut ? { cut: () => lock.cut!() } : {}),
    close: () => lock.close(),
  };
}
