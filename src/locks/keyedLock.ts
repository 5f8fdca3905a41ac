import type { Mutex } from "../sync/mutex.js";
import type { ShardedMutex } from "../sync/shardedMutex.js";
import type { ShardedRwMutex } from "../sync/shardedRwMutex.js";
import type { DistributedLock, Lease } from "./lease.js";

/**
 * Every lock regbench has, behind one keyed shape: acquire a key (shared or exclusive), get a Lease, release it. The
 * in-process mutexes (global, sharded, sharded read-write) and the distributed locks (Redis, a Redis quorum,
 * reentrant Redis, etcd) are all held to one contract suite through it.
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
}

/** An in-process hold as a Lease: never lost, released once. */
function localLease(key: string, release: () => void): Lease {
  let released = false;
  return {
    key,
    token: "local",
    fence: undefined,
    signal: new AbortController().signal,
    validUntil: () => Infinity,
    release: async () => {
      if (released) return;
      released = true;
      release();
    },
  };
}

const LOCAL = { shared: false, reentrant: false, expires: false };

/** The process-wide mutex of `global`: one lock whatever the key. */
export function globalLock(mutex: Mutex, timeoutMs: number): KeyedLock {
  return {
    acquire: async (key) => localLease(key, await mutex.acquire(timeoutMs, key)),
    reenter: async (held) => localLease(held.key, await mutex.acquire(timeoutMs, held.key)),
    promises: { ...LOCAL, keyed: false },
  };
}

/** The sharded mutex of `sharded` and `sharded-db`: keys on one shard share a mutex. */
export function shardedLock(mutex: ShardedMutex, timeoutMs: number): KeyedLock {
  const acquire = async (key: string) => localLease(key, await mutex.acquire(key, timeoutMs));
  return { acquire, reenter: (held) => acquire(held.key), promises: { ...LOCAL, keyed: true } };
}

/** The seed's sharded read-write mutex of `sharded-rw`. */
export function shardedRwLock(mutex: ShardedRwMutex, timeoutMs: number): KeyedLock {
  const acquire = async (key: string, mode: "exclusive" | "shared" = "exclusive") =>
    localLease(key, await (mode === "shared" ? mutex.readLock(key, timeoutMs) : mutex.writeLock(key, timeoutMs)));
  return { acquire, reenter: (held) => acquire(held.key), promises: { ...LOCAL, shared: true, keyed: true } };
}

/** A distributed lock (Redis, a quorum, reentrant Redis, etcd) in the keyed shape. */
export function distributedKeyedLock(lock: DistributedLock): KeyedLock {
  return {
    acquire: (key) => lock.acquire(key),
    reenter: (held) => lock.reenter(held),
    promises: { shared: false, reentrant: lock.reentrant, expires: true, keyed: true },
  };
}
